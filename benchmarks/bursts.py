"""Soak: three bursts of N concurrent clients for T seconds each against a live API process on loopback,
each burst during a full re-ingestion. Prints per burst: requests, errors, latency percentiles, and the API
process's resident memory and open file descriptors after it, so growth across bursts shows.

    python benchmarks/bursts.py [--clients 20] [--seconds 30] [--bursts 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from load import SQUAD, memory_mb, percentile, squad_api  # noqa: E402

from rag.eval import load_questions  # noqa: E402


def rss_mb(pid: int) -> float:
    return memory_mb(pid, "VmRSS")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def burst(http: httpx.AsyncClient, questions: list[str], clients: int, seconds: float) -> dict:
    """One burst: clients asking and searching while a full re-ingestion runs."""
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + seconds
    rng = random.Random(len(questions))

    async def client() -> None:
        while time.monotonic() < deadline:
            path = "/ask" if rng.random() < 0.7 else "/search"
            q = rng.choice(questions)
            body = {"question": q} if path == "/ask" else {"query": q, "top_k": 5}
            started = time.perf_counter()
            try:
                response = await http.post(path, json=body)
                if response.status_code != 200:
                    errors.append(f"{path} {response.status_code}")
            except httpx.HTTPError as exc:
                errors.append(f"{path} {type(exc).__name__}")
            latencies.append((time.perf_counter() - started) * 1000)

    async def reingest() -> float:
        started = time.monotonic()
        response = await http.post("/ingest", json={"full": True}, timeout=600)
        if response.status_code != 200:
            errors.append(f"/ingest {response.status_code}")
        return time.monotonic() - started

    *_, ingest_seconds = await asyncio.gather(*(client() for _ in range(clients)), reingest())
    return {"latencies": latencies, "errors": errors, "ingest_seconds": ingest_seconds}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--bursts", type=int, default=3)
    args = parser.parse_args()
    questions = [q.question for q in load_questions(SQUAD / "dev.jsonl")]
    with squad_api() as (server, url, _):
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            print(f"{args.clients} clients, {args.seconds:.0f} s a burst, each during a full re-ingestion")
            print(f"before: RSS {rss_mb(server.pid):.0f} MB, open fds {open_fds(server.pid)}")
            print(
                "| burst | requests | errors | p50 ms | p95 ms | p99 ms | re-ingest s | RSS MB | open fds |"
            )
            print("|---|---|---|---|---|---|---|---|---|")
            for n in range(1, args.bursts + 1):
                result = await burst(http, questions, args.clients, args.seconds)
                values = result["latencies"]
                print(
                    f"| {n} | {len(values)} | {len(result['errors'])} | {percentile(values, 50):.0f} "
                    f"| {percentile(values, 95):.0f} | {percentile(values, 99):.0f} "
                    f"| {result['ingest_seconds']:.1f} | {rss_mb(server.pid):.0f} | {open_fds(server.pid)} |",
                    flush=True,
                )
                for error in sorted(set(result["errors"]))[:5]:
                    print(f"    error: {error}")


if __name__ == "__main__":
    asyncio.run(main())
