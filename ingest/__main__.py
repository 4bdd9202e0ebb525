"""`python -m ingest [PATH]`: bring the store in line with the documents under PATH (default: CORPUS_DIR).

Exit status: 0 all went well, 1 some files failed (see the report), 2 bad path, 3 another
ingestion is running.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from rag.corpus import run_ingestion
from rag.documents import scan
from rag.embedding import load_embedder
from rag.errors import IngestionBusy, RagError
from rag.settings import get_settings
from rag.store import open_store

EXIT_SOME_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BUSY = 3


def main(argv: list[str] | None = None) -> int:
    try:
        settings = get_settings()
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    parser = argparse.ArgumentParser(
        prog="python -m ingest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", nargs="?", type=Path, default=settings.corpus_dir, help="file or folder")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--full", action="store_true", help="re-embed every document, changed or not")
    args = parser.parse_args(argv)
    try:
        total = len(scan(args.path).files)
        store = open_store(settings)
        with tqdm(total=total, unit="doc", desc="ingesting", file=sys.stderr, disable=args.dry_run) as bar:
            report = run_ingestion(
                settings,
                store,
                lambda: load_embedder(settings.embed_model, settings.embed_precision),
                root=args.path,
                full=args.full,
                dry_run=args.dry_run,
                on_progress=lambda _: bar.update(),
            )
    except IngestionBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.dry_run:
        for label, sources in (("add", report.added), ("change", report.changed), ("remove", report.removed)):
            for source in sources:
                print(f"would {label}: {source}")
    for source, reason in report.skipped.items():
        print(f"skipped: {source}: {reason}", file=sys.stderr)
    for source, note in report.notes.items():
        print(f"note: {source}: {note}", file=sys.stderr)
    for source, reason in report.failed.items():
        print(f"failed: {source}: {reason}", file=sys.stderr)
    print(report.summary())
    return EXIT_SOME_FAILED if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
