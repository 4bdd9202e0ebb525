"""How far an ingestion run has come, as reported to its caller (the CLI's bar, the API's jobs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rag.models import Chunk, DocumentStream

_PAGES_PER_EVENT = 50  # a paged document's progress is reported this often as its pages are read


@dataclass(frozen=True)
class IngestProgress:
    """How far a run has come; reported once the plan is made (unchanged files count as done at once),
    as a long document's pages are read and its chunks written, and after each batch of documents."""

    documents_done: int
    documents_total: int
    chunks_done: int  # embedded and stored, the document under way's included
    elapsed: float  # seconds since the run started
    # Done before any embedding (unchanged files): left out of the rate, so the ETA is not flattered.
    documents_skipped: int = 0
    document: str | None = None  # the paged document being read, while one is
    pages_done: int = 0  # of that document: pages read
    pages_total: int | None = None
    # Pages whose chunks are all embedded and stored: reading runs ahead of embedding by up to a slice.
    pages_embedded: int = 0

    @property
    def document_share(self) -> float:
        """How much of the document under way is embedded, 0..1 (0 for formats without pages)."""
        return min(1.0, self.pages_embedded / self.pages_total) if self.pages_total else 0.0

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def documents_per_second(self) -> float:
        written = self.documents_done - self.documents_skipped
        return written / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the pace so far, a long document's pages counting as a share of it; None
        until a document (or part of one) has been written."""
        left = self.documents_total - self.documents_done - self.document_share
        if left <= 0:
            return 0.0
        written = self.documents_done - self.documents_skipped + self.document_share
        rate = written / self.elapsed if self.elapsed > 0 else 0.0
        return left / rate if rate > 0 else None


ProgressCallback = Callable[[IngestProgress], None]


@dataclass
class RunPosition:
    """Where a run is: documents done, and the paged document being read with its pages read."""

    done: int = 0
    document: DocumentStream | None = None
    pages_done: int = 0
    _last_event: int = 0

    def reading(self, document: DocumentStream, report: Callable[[], None]) -> Iterator[str]:
        """The document's pages, reporting every _PAGES_PER_EVENT pages read."""
        if document.paged:
            self.document, self.pages_done, self._last_event = document, 0, 0
        for page in document.pages:
            if self.document is document:
                self.pages_done += 1
                if self.pages_done - self._last_event >= _PAGES_PER_EVENT:
                    self._last_event = self.pages_done
                    report()
            yield page

    def finished(self) -> None:
        self.document, self.pages_done = None, 0

    def of_document(self, written: Chunk | None) -> tuple[str | None, int, int | None, int]:
        """The document under way, its pages read and total, and its pages embedded (those before
        the page on which the last chunk written ends)."""
        if self.document is None:
            return None, 0, None, 0
        embedded = 0
        if written is not None and written.source == self.document.source and written.page is not None:
            embedded = written.page + len(written.page_starts) - 1
        return self.document.source, self.pages_done, self.document.page_count, embedded
