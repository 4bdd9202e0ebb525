"""Query-embedding latency under load, by torch thread count (TORCH_THREADS).

Some threads embed queries back to back, as concurrent API requests do; one more measures each of its
own query embeddings. Prints median and p95 for torch's default thread count and for 1. The settings
take turns over several rounds, so a neighbour's load on a shared machine hits them alike.

    python benchmarks/embed_threads.py [--load 4] [--samples 60] [--rounds 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import torch  # noqa: E402
from load import percentile  # noqa: E402

from rag.embedding import embed_query, load_embedder, set_torch_threads  # noqa: E402

QUERIES = [
    "How many North Korean troops are deployed to Russia?",
    "When was the Norman conquest of England?",
    "What does computational complexity theory study?",
    "Which company owns Sky UK?",
    "What is the largest city in southern California?",
]


def measure(embedder: object, load: int, samples: int) -> list[float]:
    """Milliseconds per query embedding while `load` other threads embed without pause."""
    stop = threading.Event()

    def busy(offset: int) -> None:
        i = offset
        while not stop.is_set():
            embed_query(embedder, QUERIES[i % len(QUERIES)])  # type: ignore[arg-type]
            i += 1

    workers = [threading.Thread(target=busy, args=(n,), daemon=True) for n in range(load)]
    for worker in workers:
        worker.start()
    timings = []
    try:
        for i in range(samples):
            started = time.perf_counter()
            embed_query(embedder, QUERIES[i % len(QUERIES)])  # type: ignore[arg-type]
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=4, help="threads embedding alongside the measured one")
    parser.add_argument("--samples", type=int, default=60, help="measured embeddings per setting")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    embedder = load_embedder()
    default = torch.get_num_threads()
    for _ in range(10):
        embed_query(embedder, "warm up")
    timings: dict[tuple[int, int], list[float]] = {}
    for _ in range(args.rounds):
        for threads in (default, 1):
            set_torch_threads(threads)
            for load in (0, args.load):
                timings.setdefault((threads, load), []).extend(
                    measure(embedder, load, args.samples // args.rounds)
                )
    print(f"query embedding on {default} cores, {args.rounds} rounds")
    print("| torch threads | concurrent embedders | median ms | p95 ms |")
    print("|---|---|---|---|")
    for (threads, load), values in timings.items():
        name = f"{threads} (default)" if threads == default else str(threads)
        print(f"| {name} | {load} | {statistics.median(values):.0f} | {percentile(values, 95):.0f} |")


if __name__ == "__main__":
    main()
