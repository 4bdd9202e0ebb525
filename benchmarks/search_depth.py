"""What depth costs: `/search` latency over HTTP at top_k 5, 50 and 100, with today's candidate pool
and with a pool of just max(20, top_k) for comparison.

Works on a copy of an ingested store (the one `make eval` keeps for SQuAD v1.1 by default), so the
original is never written. Run it on a quiet machine and read the medians.

    python benchmarks/search_depth.py [--store .data/eval/squad-store] [--qa .data/eval/squad/qa.jsonl]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from load import percentile  # noqa: E402

from rag.assistant import build_assistant  # noqa: E402
from rag.embedding import load_embedder, set_torch_threads  # noqa: E402
from rag.eval import load_questions  # noqa: E402
from rag.settings import MAX_SEARCH_TOP_K, Settings  # noqa: E402
from server.app import create_app  # noqa: E402
from server.in_thread import serve_in_thread  # noqa: E402

DEPTHS = (5, 50, MAX_SEARCH_TOP_K)


def search(http: httpx.Client, url: str, question: str, top_k: int) -> tuple[float, float]:
    """(wall ms, CPU ms of this process: the server's threads and the client) of one /search."""
    wall, cpu = time.perf_counter(), time.process_time()
    response = http.post(f"{url}/search", json={"query": question, "top_k": top_k})
    wall, cpu = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
    response.raise_for_status()
    assert len(response.json()["results"]) == top_k
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=ROOT / ".data" / "eval" / "squad-store")
    parser.add_argument("--qa", type=Path, default=ROOT / ".data" / "eval" / "squad" / "qa.jsonl")
    parser.add_argument("--questions", type=int, default=100, help="questions per row")
    args = parser.parse_args()

    questions = [q.question for q in load_questions(args.qa)][: args.questions]
    embedder = load_embedder()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(args.store, Path(tmp) / "store")
        settings = Settings(_env_file=None, data_dir=Path(tmp) / "store", rate_limit="1000000/minute")
        set_torch_threads(settings.torch_threads)  # as the API process does
        assistant = build_assistant(settings, embedder)
        weights = assistant.retriever.weights
        print(f"store: {args.store} ({assistant.store.count():,} chunks), {len(questions)} questions per row")
        with serve_in_thread(create_app(assistant=assistant)) as url:
            rules = {"max(20, 1.5 × top_k)": weights, "max(20, top_k)": replace(weights, pool_growth=1.0)}
            runs = [(label, top_k) for label in rules for top_k in DEPTHS]
            wall: dict[tuple[str, int], list[float]] = {run: [] for run in runs}
            cpu: dict[tuple[str, int], list[float]] = {run: [] for run in runs}
            with httpx.Client(timeout=120) as http:
                for question in questions[:10]:  # warm-up: BM25 index, caches
                    search(http, url, question, MAX_SEARCH_TOP_K)
                # Every question at every setting in turn, so a busy spell of the machine hits all alike.
                for question in questions:
                    for label, top_k in runs:
                        assistant.retriever.weights = rules[label]
                        w, c = search(http, url, question, top_k)
                        wall[label, top_k].append(w)
                        cpu[label, top_k].append(c)
            print("| pool rule | top_k | candidates | p50 ms | p95 ms | CPU ms per search (mean) |")
            print("|---|---|---|---|---|---|")
            for label, top_k in runs:
                times = wall[label, top_k]
                print(
                    f"| {label} | {top_k} | {rules[label].candidates(top_k)} | {percentile(times, 50):.1f} "
                    f"| {percentile(times, 95):.1f} | {statistics.mean(cpu[label, top_k]):.1f} |"
                )


if __name__ == "__main__":
    main()
