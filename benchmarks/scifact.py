"""BEIR SciFact through `/search`: nDCG@10 and recall@10/@100 for the hybrid, dense and BM25 modes.

Writes each abstract as one file (title on the first line, then the text), ingests them with
`python -m ingest`, serves the store with `python -m server` once per RETRIEVAL_MODE, sends every
claim of the split to `POST /search` and scores the ranked documents with pytrec_eval (trec_eval).

    python benchmarks/scifact.py [--store DIR] [--documents N] [--split test|train] [--depth 100]

--store keeps the corpus and the ingested store for the next run (ingestion is incremental, so a
rerun costs only the questions). --documents N takes the documents the split's qrels name plus
random others up to N (for development; the published figures are on the whole corpus).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytrec_eval

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from load import api_process, ingest_recorded  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "eval" / "scifact"
MODES = ("hybrid", "dense", "bm25")
# Published BEIR SciFact test figures (nDCG@10, R@100), from ../shared/eval/scifact/SOURCE.md.
PUBLISHED = [
    ("BM25, Anserini flat", 0.6789, 0.9253),
    ("BM25, bm25s (MTEB baseline)", 0.6874, None),
    ("all-MiniLM-L6-v2 alone (MTEB)", 0.6451, None),
    ("bge-small-en-v1.5 (MTEB)", 0.7127, None),
    ("bge-base-en-v1.5 (MTEB)", 0.7435, None),
]
Search = Callable[[str, int], list[str]]  # query, depth → sources, best first


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels (query-id, corpus-id, score, with a header line) as pytrec_eval wants them."""
    qrels: dict[str, dict[str, int]] = {}
    for line in path.read_text().splitlines()[1:]:
        query, doc, score = line.split("\t")
        qrels.setdefault(query, {})[doc] = int(score)
    return qrels


def write_corpus(folder: Path, documents: list[dict]) -> None:
    """One file per abstract, `<id>.txt`: the title on the first line, then the text; files already
    written with the same text are left alone."""
    folder.mkdir(parents=True, exist_ok=True)
    for doc in documents:
        path = folder / f"{doc['_id']}.txt"
        text = f"{doc['title'].strip()}\n\n{doc['text'].strip()}\n"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def choose(corpus: list[dict], qrels: dict[str, dict[str, int]], documents: int | None) -> list[dict]:
    """The whole corpus, or the documents the qrels name plus random others up to `documents`."""
    if not documents:
        return corpus
    named = {doc for judged in qrels.values() for doc in judged}
    others = [d for d in corpus if d["_id"] not in named]
    extra = random.Random(13).sample(others, max(0, documents - len(named)))
    return [d for d in corpus if d["_id"] in named] + extra


def rank_documents(sources: list[str]) -> dict[str, float]:
    """Passages ranked best first → each document once, at its best passage's rank, as a run."""
    run: dict[str, float] = {}
    for rank, source in enumerate(sources, 1):
        run.setdefault(Path(source).stem, 1.0 / rank)
    return run


def http_search(url: str) -> Search:
    """Search through the API's POST /search."""
    http = httpx.Client(base_url=url, timeout=120)

    def search(query: str, depth: int) -> list[str]:
        response = http.post("/search", json={"query": query, "top_k": depth})
        if response.status_code == 422:
            sys.exit(f"/search refused top_k={depth}: {response.text}; use a smaller --depth")
        response.raise_for_status()
        return [hit["source"] for hit in response.json()["results"]]

    return search


def score(search: Search, queries: dict[str, str], qrels: dict, depth: int) -> tuple[dict, float]:
    """nDCG@10, recall@10 and recall@depth, each the mean over the queries, and the median seconds
    per query."""
    run: dict[str, dict[str, float]] = {}
    seconds: list[float] = []
    for qid in qrels:
        started = time.perf_counter()
        run[qid] = rank_documents(search(queries[qid], depth))
        seconds.append(time.perf_counter() - started)
    measures = {"ndcg_cut.10", "recall.10", f"recall.{depth}"}
    per_query = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    means = {m: sum(q[m] for q in per_query.values()) / len(qrels) for m in next(iter(per_query.values()))}
    return means, sorted(seconds)[len(seconds) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact", type=Path, default=SCIFACT, help="the BEIR SciFact folder")
    parser.add_argument("--store", type=Path, help="keep corpus and store here and reuse them")
    parser.add_argument("--documents", type=int, help="a subset: qrels documents plus random others")
    parser.add_argument("--split", choices=["test", "train"], default="test")
    parser.add_argument("--depth", type=int, default=100, help="top_k asked of /search")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated RETRIEVAL_MODEs")
    args = parser.parse_args()

    qrels = read_qrels(args.scifact / "qrels" / f"{args.split}.tsv")
    queries = {q["_id"]: q["text"] for q in read_jsonl(args.scifact / "queries.jsonl")}
    documents = choose(read_jsonl(args.scifact / "corpus.jsonl"), qrels, args.documents)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.store or Path(tmp)
        corpus, data = root / "corpus", root / "data"
        write_corpus(corpus, documents)
        run = ingest_recorded(root, corpus)
        print(
            f"SciFact {args.split}: {len(qrels)} queries, {len(documents):,} documents; "
            f"first ingestion of this store {run['wall_s']:.0f} s wall, {run['cpu_s']:.0f} CPU-s"
        )
        rows = []
        for mode in args.modes.split(","):
            with api_process(data, corpus, retrieval_mode=mode) as (_, url):
                chunks = httpx.get(f"{url}/health").json()["chunks"]
                means, median = score(http_search(url), queries, qrels, args.depth)
            rows.append((mode, means, median))
        print(
            f"{chunks:,} chunks; POST /search with top_k={args.depth}, documents ranked by their best passage"
        )
        print(f"| retrieval | nDCG@10 | R@10 | R@{args.depth} | median s/query |")
        print("|---|---|---|---|---|")
        for mode, m, median in rows:
            print(
                f"| this project, {mode} | {m['ndcg_cut_10']:.3f} | {m['recall_10']:.3f} "
                f"| {m[f'recall_{args.depth}']:.3f} | {median:.3f} |"
            )
        for name, ndcg, r100 in PUBLISHED:
            recall = "" if r100 is None or args.depth != 100 else f"{r100:.3f}"
            print(f"| {name}, published | {ndcg:.3f} | | {recall} | |")


if __name__ == "__main__":
    main()
