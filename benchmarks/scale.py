"""Scale: ingestion cost and `/ask` latency at 3, ~2k and ~10k chunks, and the question path over a
synthetic store of 100k chunks, all in one run on this machine.

Corpora: the shipped corpus/ (3 chunks), the 48 SQuAD v1.1 articles (~1.9k chunks), the 5,183 SciFact
abstracts (~9.5k chunks), each ingested with `python -m ingest`; and a synthetic store (random unit
vectors, sentences of random words) written straight into Chroma, for the question path only.
For each: ingestion wall and CPU time, chunks/s, the ingesting process's peak RSS, the store's size
on disk; then an API process per store: `/ask` p50/p95 over its questions, the API's RSS, and the
first `/ask` after a one-file `python -m ingest` (the store changed under the running API).

    python benchmarks/scale.py [--store DIR] [--synthetic 100000] [--questions 200]

--store DIR keeps each corpus and store (DIR/tiny, DIR/squad, DIR/scifact, DIR/synthetic) with the
ingestion figures measured when it was first ingested, so a rerun costs only the questions.
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from load import api_process, ingest_cli, ingest_recorded, memory_mb, percentile  # noqa: E402
from scifact import SCIFACT, read_jsonl, read_qrels, write_corpus  # noqa: E402

from rag.chunking import Sentence  # noqa: E402
from rag.eval import load_questions  # noqa: E402
from rag.evalsets import SHARED_EVAL, prepare_squad  # noqa: E402
from rag.lexical import cached_index  # noqa: E402
from rag.models import Chunk, DocumentRecord  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import open_store  # noqa: E402

# 4,096 made-up words of four syllables: enough variety for BM25 and the sentence scorer to do real work.
WORDS = ["".join(p) for p in itertools.product(("ka", "lo", "mi", "re", "su", "ta", "ve", "no"), repeat=4)]
SENTENCES_PER_CHUNK = 5


def corpus_tiny(folder: Path) -> tuple[Path, list[str]]:
    """The shipped corpus and the seed questions about it."""
    if not (folder / "corpus").exists():
        shutil.copytree(ROOT / "corpus", folder / "corpus")
    return folder / "corpus", [q.question for q in load_questions(SHARED_EVAL / "seed_qa.jsonl")]


def corpus_squad(folder: Path) -> tuple[Path, list[str]]:
    """The 48 SQuAD v1.1 dev articles and a sample of their questions."""
    corpus, qa = prepare_squad(folder)
    return corpus, [q.question for q in load_questions(qa)]


def corpus_scifact(folder: Path) -> tuple[Path, list[str]]:
    """Every SciFact abstract, one file each, and the test claims."""
    write_corpus(folder / "corpus", read_jsonl(SCIFACT / "corpus.jsonl"))
    queries = {q["_id"]: q["text"] for q in read_jsonl(SCIFACT / "queries.jsonl")}
    return folder / "corpus", [queries[qid] for qid in read_qrels(SCIFACT / "qrels" / "test.tsv")]


def synthetic_questions(n: int = 500, seed: int = 7) -> list[str]:
    """Questions made of the synthetic store's words."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))) + "?" for _ in range(n)]


def synthetic_store(data: Path, chunks: int) -> None:
    """Grow a store of random chunks (random unit vectors, sentences of random words), published as
    documents of 10 chunks, to at least `chunks` chunks."""
    store = open_store(Settings(_env_file=None, data_dir=data))
    have = store.count()
    rng, vectors = random.Random(have), np.random.default_rng(have)
    if have >= chunks:
        return
    for first in range(have, chunks, 1000):
        batch: list[Chunk] = []
        sentences: list[tuple[str, Sentence]] = []
        for i in range(first, min(chunks, first + 1000)):
            text, spans = "", []
            for _ in range(SENTENCES_PER_CHUNK):
                words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
                spans.append(Sentence(len(text), len(text) + len(words) + 1, f"{words.capitalize()}."))
                text += f"{words.capitalize()}. "
            doc = i // 10
            chunk = Chunk(
                f"syn-{i:07d}", f"doc{doc:06d}.txt", f"Doc {doc}", f"{doc:064x}", i % 10, 0, len(text), text
            )
            batch.append(chunk)
            sentences += [(chunk.id, s) for s in spans]
        store.add(batch, unit_vectors(vectors, len(batch)), sentences, unit_vectors(vectors, len(sentences)))
        counts: dict[str, int] = {}
        for c in batch:
            counts[c.source] = counts.get(c.source, 0) + 1
        store.publish(
            [
                DocumentRecord(
                    source=source,
                    title=f"Doc {source[3:9]}",
                    content_hash=f"{int(source[3:9]):064x}",
                    chunks=n,
                    ingested_at="",
                )
                for source, n in counts.items()
            ]
        )
    store.bump_generation()
    # As python -m ingest does: the API then loads this index rather than building it.
    cached_index(data / "bm25" / store.name, store.generation(), store.all_chunks)


def first_ask_after_synthetic_write(url: str, data: Path, question: str) -> tuple[float, float]:
    """Milliseconds of the first /ask after another process wrote 10 more chunks into the store, and
    the seconds after that until the API's indexes were rebuilt."""
    have = httpx.get(f"{url}/health").json()["chunks"]
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import scale; "
    code += f"scale.synthetic_store(scale.Path({str(data)!r}), {have + 10})"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    started = time.perf_counter()
    httpx.post(f"{url}/ask", json={"question": question}, timeout=120).raise_for_status()
    return (time.perf_counter() - started) * 1000, seconds_until_indexes_ready(url)


def unit_vectors(rng: np.random.Generator, n: int, dimensions: int = 384) -> np.ndarray:
    v = rng.standard_normal((n, dimensions)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def ask_latencies(url: str, questions: list[str], n: int) -> list[float]:
    """Milliseconds of n sequential /ask requests, after 10 to warm up."""
    latencies: list[float] = []
    with httpx.Client(base_url=url, timeout=120) as http:
        for i in range(-10, n):
            started = time.perf_counter()
            http.post("/ask", json={"question": questions[i % len(questions)]}).raise_for_status()
            if i >= 0:
                latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def seconds_until_indexes_ready(url: str) -> float:
    """Seconds until /health says the BM25 index and in-memory copy of the current store are built."""
    started = time.perf_counter()
    while httpx.get(f"{url}/health", timeout=30).json()["indexes"] != "ready":
        time.sleep(0.05)
    return time.perf_counter() - started


def first_ask_after_ingestion(url: str, data: Path, corpus: Path, question: str) -> tuple[float, float]:
    """Milliseconds of the first /ask after `python -m ingest` added one file under the running API,
    and the seconds after that until its indexes were rebuilt; the file is removed again (and the
    store brought back) afterwards."""
    added = corpus / "scale-benchmark-extra.txt"
    added.write_text("Benchmark note\n\nThis file was added to time the first question after an ingestion.\n")
    try:
        ingest_cli(data, corpus)
        started = time.perf_counter()
        httpx.post(f"{url}/ask", json={"question": question}, timeout=120).raise_for_status()
        first_ms = (time.perf_counter() - started) * 1000
        return first_ms, seconds_until_indexes_ready(url)
    finally:
        added.unlink()
        ingest_cli(data, corpus)
        seconds_until_indexes_ready(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="keep corpora and stores here and reuse them")
    parser.add_argument(
        "--corpora", default="tiny,squad,scifact,synthetic", help="which rows, comma-separated"
    )
    parser.add_argument("--synthetic", type=int, default=100_000, help="chunks in the synthetic store")
    parser.add_argument("--questions", type=int, default=200, help="/ask requests per store")
    parser.add_argument("--scifact-store", type=Path, help="a store kept by benchmarks/scifact.py --store")
    args = parser.parse_args()
    makers = {"tiny": corpus_tiny, "squad": corpus_squad, "scifact": corpus_scifact}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.store or Path(tmp)
        for name in args.corpora.split(","):
            folder = root / name
            folder.mkdir(parents=True, exist_ok=True)
            if name == "scifact" and args.scifact_store:
                folder = args.scifact_store
            data = folder / "data"
            if name == "synthetic":
                corpus = folder / "corpus"
                corpus.mkdir(exist_ok=True)
                started = time.perf_counter()
                synthetic_store(data, args.synthetic)
                figures, questions = {"written_s": time.perf_counter() - started}, synthetic_questions()
            else:
                corpus, questions = makers[name](folder)
                figures = ingest_recorded(folder, corpus)
            store_mb = size_mb(data / "chroma")
            with api_process(data, corpus) as (server, url):
                chunks = httpx.get(f"{url}/health").json()["chunks"]
                figures["ready_after_start_s"] = seconds_until_indexes_ready(url)
                latencies = ask_latencies(url, questions, args.questions)
                if name == "synthetic":
                    first, rebuilt = first_ask_after_synthetic_write(url, data, questions[0])
                else:
                    first, rebuilt = first_ask_after_ingestion(url, data, corpus, questions[0])
                figures["rebuilt_s"] = rebuilt
                api_mb = memory_mb(server.pid)
            rows.append((name, chunks, figures, store_mb, latencies, first, api_mb))
            print(f"{name}: done", file=sys.stderr)
    print(
        "| corpus | chunks | ingest wall s | ingest CPU s | chunks/s | CPU s per 1k chunks "
        "| ingest peak RSS MB | store MB | indexes ready after start s | /ask p50 ms | /ask p95 ms "
        "| first /ask after ingest ms | indexes rebuilt after ingest s | API peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, chunks, f, store_mb, latencies, first, api_mb in rows:
        if "wall_s" in f:
            ingest = (
                f"{f['wall_s']:.0f} | {f['cpu_s']:.0f} | {chunks / f['wall_s']:.1f} "
                f"| {f['cpu_s'] / chunks * 1000:.0f} | {f['peak_rss_mb']:.0f}"
            )
        else:
            ingest = f"(written directly: {f['written_s']:.0f} s) | | | |"
        print(
            f"| {name} | {chunks:,} | {ingest} | {store_mb:.0f} | {f['ready_after_start_s']:.1f} "
            f"| {percentile(latencies, 50):.1f} | {percentile(latencies, 95):.1f} | {first:.0f} "
            f"| {f['rebuilt_s']:.1f} | {api_mb:.0f} |"
        )
    base = next((percentile(r[4], 50) for r in rows if r[0] == "tiny"), None)
    if base:
        print(
            "p50 relative to the 3-chunk store: "
            + ", ".join(f"{r[0]} {percentile(r[4], 50) / base:.2f}×" for r in rows)
        )


if __name__ == "__main__":
    main()
