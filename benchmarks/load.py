"""Load: N concurrent clients for T seconds against a live API process on loopback, /ask and /search
mixed, with a re-ingestion in the middle. Prints throughput, latency percentiles, errors and the API
process's peak memory.

    python benchmarks/load.py [--clients 50] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "eval" / "squad2-wiki5"
sys.path.insert(0, str(ROOT))

from rag.eval import load_questions  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def memory_mb(pid: int, field: str = "VmHWM") -> float:
    """A process's memory from /proc: VmHWM is its peak resident set, VmRSS its current one."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def squad_api(port: int | None = None) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    """The SQuAD articles ingested into a temporary store, and an API process serving them on loopback
    (with no practical rate limit) once /ready answers: (process, URL, the temporary folder)."""
    tmp = Path(tempfile.mkdtemp())
    shutil.copytree(SQUAD / "corpus", tmp / "corpus")
    env = {
        **os.environ,
        "DATA_DIR": str(tmp / "data"),
        "CORPUS_DIR": str(tmp / "corpus"),
        "RATE_LIMIT": "1000000/minute",
    }
    subprocess.run([sys.executable, "-m", "ingest"], cwd=ROOT, env=env, check=True, capture_output=True)
    if port is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "--port", str(port)], cwd=ROOT, env=env, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/ready", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield server, url, tmp
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    questions = [q.question for q in load_questions(SQUAD / "dev.jsonl")]
    with squad_api(args.port) as (server, url, tmp):
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            latencies: dict[str, list[float]] = {"/ask": [], "/search": []}
            errors = 0
            deadline = time.monotonic() + args.seconds
            rng = random.Random(1)

            async def client() -> None:
                nonlocal errors
                while time.monotonic() < deadline:
                    path = "/ask" if rng.random() < 0.7 else "/search"
                    q = rng.choice(questions)
                    body = {"question": q} if path == "/ask" else {"query": q, "top_k": 5}
                    started = time.perf_counter()
                    try:
                        response = await http.post(path, json=body)
                        errors += response.status_code != 200
                    except httpx.HTTPError:
                        errors += 1
                    latencies[path].append((time.perf_counter() - started) * 1000)

            async def reingest_midway() -> str:
                await asyncio.sleep(args.seconds / 2)
                changed = tmp / "corpus" / "normans.txt"
                changed.write_text(changed.read_text() + "\n\nThis paragraph was added during the load test.")
                report = (await http.post("/ingest", timeout=300)).json()
                return f"re-ingestion mid-run: changed {report['changed']} in {report['seconds']:.1f} s"

            started = time.monotonic()
            *_, note = await asyncio.gather(*(client() for _ in range(args.clients)), reingest_midway())
            elapsed = time.monotonic() - started
        every = latencies["/ask"] + latencies["/search"]
        print(f"{args.clients} clients for {args.seconds:.0f} s on loopback; {note}")
        print("| endpoint | requests | p50 ms | p95 ms | p99 ms |")
        print("|---|---|---|---|---|")
        for path, values in [*latencies.items(), ("all", every)]:
            print(
                f"| {path} | {len(values)} | {percentile(values, 50):.0f} | {percentile(values, 95):.0f} "
                f"| {percentile(values, 99):.0f} |"
            )
        print(
            f"throughput {len(every) / elapsed:.1f} req/s, errors {errors}, "
            f"API peak RSS {memory_mb(server.pid):.0f} MB"
        )


if __name__ == "__main__":
    asyncio.run(main())
