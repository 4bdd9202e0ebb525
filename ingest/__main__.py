"""`python -m ingest [PATH]`: bring the store in line with the documents under PATH (default: CORPUS_DIR).

Progress (documents done of total, chunks, rate, time left, and the pages read of a long PDF) goes
to stderr; --quiet keeps it and the
per-file notes quiet, leaving failed files on stderr and the one-line summary on stdout.

Exit status: 0 all went well, 1 some files failed (see the report), 2 bad path, 3 another
ingestion is running.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from rag.corpus import run_ingestion
from rag.embedding import load_embedder
from rag.errors import IngestionBusy, RagError
from rag.ingest_progress import IngestProgress
from rag.settings import get_settings
from rag.store import open_store

EXIT_SOME_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BUSY = 3


class ProgressBar:
    """A tqdm bar fed by the core's progress events; made at the first event, which knows the total."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def __call__(self, event: IngestProgress) -> None:
        if self.bar is None:
            # Unchanged files start the bar as done, outside tqdm's rate and time-left estimate.
            self.bar = tqdm(
                total=event.documents_total,
                initial=event.documents_done,
                unit="doc",
                desc="ingesting",
                file=sys.stderr,
                dynamic_ncols=True,
            )
        postfix = f"{event.chunks_done:,} chunks, {event.chunks_per_second:.1f} chunks/s"
        if event.document is not None and event.pages_total:
            # One long document moves the bar by pages; tqdm's time left counts whole documents only.
            postfix += (
                f", {event.document} page {event.pages_done:,}/{event.pages_total:,} read, "
                f"{event.pages_embedded:,} embedded"
            )
            if event.eta_seconds is not None:
                postfix += f", about {event.eta_seconds:,.0f} s left"
        self.bar.set_postfix_str(postfix, refresh=False)
        if event.documents_done != self.bar.n:
            self.bar.update(event.documents_done - self.bar.n)
        else:
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress or notes: failures and the summary only"
    )
    args = parser.parse_args(argv)
    bar = ProgressBar()
    try:
        store = open_store(settings)
        report = run_ingestion(
            settings,
            store,
            lambda: load_embedder(settings.embed_model, settings.embed_precision),
            root=args.path,
            full=args.full,
            dry_run=args.dry_run,
            on_progress=None if args.quiet else bar,
        )
    except IngestionBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        bar.close()
    if args.dry_run:
        for label, sources in (("add", report.added), ("change", report.changed), ("remove", report.removed)):
            for source in sources:
                print(f"would {label}: {source}")
    if not args.quiet:
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
