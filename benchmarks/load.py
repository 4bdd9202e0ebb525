"""Load: N concurrent clients for T seconds against a live API process on loopback, /ask and /search
mixed, with a re-ingestion in the middle. Prints throughput, latency percentiles, errors and the API
process's peak memory.

    python benchmarks/load.py [--clients 50] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from dataclasses import asdict, dataclass
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
    try:
        ingest_cli(tmp / "data", tmp / "corpus")
        with api_process(tmp / "data", tmp / "corpus", port) as (server, url):
            yield server, url, tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def api_env(data_dir: Path, corpus_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of an API or ingest process over this store and corpus, with no rate limit."""
    extra = {k.upper(): v for k, v in settings.items()}
    return {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "CORPUS_DIR": str(corpus_dir),
        "RATE_LIMIT": "1000000/minute",
        **extra,
    }


@dataclass(frozen=True)
class IngestRun:
    """What one `python -m ingest` process cost."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float


def ingest_cli(data_dir: Path, corpus_dir: Path) -> IngestRun:
    """`python -m ingest` over the corpus into the store, as a user runs it (incremental), with what
    that process alone cost (its own rusage: other children do not count)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ingest"],
            cwd=ROOT,
            env=api_env(data_dir, corpus_dir),
            stdout=log,
            stderr=log,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"python -m ingest failed ({process.returncode}): {tail}")
    wall = time.perf_counter() - started
    return IngestRun(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def ingest_recorded(folder: Path, corpus_dir: Path) -> dict[str, float]:
    """`python -m ingest` of the corpus into folder/data; returns what the first ingestion into that
    store cost, recorded in folder/ingest.json, so a rerun over a kept store reports the real figures."""
    record = folder / "ingest.json"
    run = asdict(ingest_cli(folder / "data", corpus_dir))
    if not record.exists():
        record.write_text(json.dumps(run))
    return json.loads(record.read_text())


@contextmanager
def api_process(
    data_dir: Path, corpus_dir: Path, port: int | None = None, **settings: str
) -> Iterator[tuple[subprocess.Popen, str]]:
    """`python -m server` over an existing store on a free loopback port, once /ready answers;
    settings are extra environment variables (retrieval_mode="bm25" → RETRIEVAL_MODE=bm25)."""
    if port is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "--port", str(port)],
        cwd=ROOT,
        env=api_env(data_dir, corpus_dir, **settings),
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(3000):
            try:
                if httpx.get(f"{url}/ready", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"the API process exited with code {server.returncode}")
            time.sleep(0.2)
        yield server, url
    finally:
        server.terminate()
        server.wait(timeout=60)


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
