"""Latency and throughput of a whole `/ask` over HTTP, with 1 and 8 concurrent clients.

Ingests a corpus into a throw-away store, serves the real app with uvicorn on loopback, and asks
the questions of a QA file. Prints percentiles; run it on a quiet machine and read the medians.

    python benchmarks/ask_latency.py [--qa FILE] [--corpus DIR] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from load import SQUAD, percentile  # noqa: E402

from rag.assistant import build_assistant  # noqa: E402
from rag.embedding import load_embedder  # noqa: E402
from rag.eval import load_questions  # noqa: E402
from rag.ingestion import ingest  # noqa: E402
from rag.settings import Settings  # noqa: E402
from server.app import create_app  # noqa: E402
from server.in_thread import serve_in_thread  # noqa: E402


async def run_clients(
    url: str, questions: list[str], clients: int, total: int
) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in counter:
            started = time.perf_counter()
            response = await http.post(f"{url}/ask", json={"question": questions[i % len(questions)]})
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 200

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return latencies, time.perf_counter() - started, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", type=Path, default=SQUAD / "dev.jsonl")
    parser.add_argument("--corpus", type=Path, default=SQUAD / "corpus")
    parser.add_argument("--requests", type=int, default=300, help="requests per concurrency level")
    args = parser.parse_args()

    questions = [q.question for q in load_questions(args.qa)]
    embedder = load_embedder()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), rate_limit="1000000/minute")
        assistant = build_assistant(settings, embedder)
        report = ingest(args.corpus, assistant.store, embedder, settings.chunk_size, settings.chunk_overlap)
        print(f"corpus: {report.summary()}")
        with serve_in_thread(create_app(assistant=assistant)) as url:
            asyncio.run(run_clients(url, questions, 1, 20))  # warm-up
            print(f"{args.requests} requests per row, questions from {args.qa.name}")
            print("| clients | p50 ms | p95 ms | p99 ms | mean ms | throughput req/s | errors |")
            print("|---|---|---|---|---|---|---|")
            for clients in (1, 8):
                latencies, seconds, errors = asyncio.run(run_clients(url, questions, clients, args.requests))
                print(
                    f"| {clients} | {percentile(latencies, 50):.1f} | {percentile(latencies, 95):.1f} "
                    f"| {percentile(latencies, 99):.1f} | {statistics.mean(latencies):.1f} "
                    f"| {len(latencies) / seconds:.1f} | {errors} |"
                )


if __name__ == "__main__":
    main()
