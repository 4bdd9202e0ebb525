"""Re-ingestion speed: a first ingestion of N generated documents, then unchanged, then 1% changed.

python benchmarks/reingest.py [--documents 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from words import WORDS  # noqa: E402

from rag.corpus import run_ingestion  # noqa: E402
from rag.embedding import load_embedder  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import open_store  # noqa: E402


def make_document(rng: random.Random, i: int) -> str:
    sentences = [
        f"The {rng.choice(WORDS)} of town {i} was built in {rng.randint(1200, 2020)} "
        f"near the {rng.choice(WORDS)}."
        for _ in range(8)
    ]
    return f"Town {i}\n\n" + " ".join(sentences)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for i in range(args.documents):
            (corpus / f"town{i:05d}.txt").write_text(make_document(rng, i))
        settings = Settings(_env_file=None, data_dir=Path(tmp) / "data", corpus_dir=corpus)
        store = open_store(settings)
        embedder = load_embedder()

        def timed(label: str) -> None:
            started = time.perf_counter()
            report = run_ingestion(settings, store, lambda: embedder)
            seconds = time.perf_counter() - started
            rate = report.documents / seconds
            print(f"| {label} | {seconds:.2f} | {rate:.0f} | {report.summary()} |")

        print(f"{args.documents} documents, {store.name!r} store on disk")
        print("| run | seconds | documents/s | report |")
        print("|---|---|---|---|")
        timed("first ingestion")
        timed("unchanged, in process")
        env = {**os.environ, "DATA_DIR": str(settings.data_dir), "CORPUS_DIR": str(corpus)}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ingest"], cwd=ROOT, env=env, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        print(f"| unchanged, `python -m ingest` (process start included) | {seconds:.2f} | | |")
        for i in rng.sample(range(args.documents), max(1, args.documents // 100)):
            (corpus / f"town{i:05d}.txt").write_text(make_document(rng, i) + " Revised.")
        timed("1% changed")


if __name__ == "__main__":
    main()
