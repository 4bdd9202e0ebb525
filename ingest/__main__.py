"""`python -m ingest [PATH]`: bring the store in line with the documents under PATH (default: CORPUS_DIR)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from rag.documents import find_files
from rag.embedding import load_embedder
from rag.errors import RagError
from rag.ingestion import ingest
from rag.settings import get_settings
from rag.store import open_store

EXIT_SOME_FAILED = 1
EXIT_BAD_INPUT = 2


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, default=settings.corpus_dir, help="file or folder")
    args = parser.parse_args(argv)
    try:
        total = len(find_files(args.path))
        embedder = load_embedder(settings.embed_model)
        store = open_store(settings)
        with tqdm(total=total, unit="doc", desc="ingesting", file=sys.stderr) as bar:
            report = ingest(
                args.path,
                store,
                embedder,
                settings.chunk_size,
                settings.chunk_overlap,
                on_progress=lambda _: bar.update(),
            )
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for source, reason in report.failed.items():
        print(f"failed: {source}: {reason}", file=sys.stderr)
    print(report.summary())
    return EXIT_SOME_FAILED if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
