"""Documents → chunks → store: bring the store in line with a folder, re-embedding only what changed.

Readers never see a half-written document: a version's chunks are written first, then one registry
write publishes it, then the old version's chunks are deleted. A run killed at any point leaves
the last published versions intact, and the next run sweeps what it left behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import BaseModel, Field

from rag.chunking import as_stream, chunk_stream, split_sentences
from rag.documents import file_hash, open_document, scan, source_name
from rag.embedding import embed_texts
from rag.errors import IngestionBusy, UnreadableDocument
from rag.ingest_progress import IngestProgress, ProgressCallback, RunPosition
from rag.models import Chunk, Document, DocumentRecord, DocumentStream
from rag.readers import ReadLimits
from rag.store import Store

# Documents published together (each by its own registry record); their chunks are embedded and
# written a slice at a time as they are read.
_BATCH_DOCUMENTS = 32
_CHUNKS_PER_WRITE = 512


class IngestReport(BaseModel):
    """What an ingestion run did (or, for a dry run, would do), file by file."""

    added: list[str] = Field(default_factory=list, description="New documents stored.")
    changed: list[str] = Field(
        default_factory=list, description="Documents whose new version replaced the old."
    )
    unchanged: list[str] = Field(default_factory=list, description="Documents skipped: same content hash.")
    removed: list[str] = Field(default_factory=list, description="Documents gone from the folder, deleted.")
    failed: dict[str, str] = Field(default_factory=dict, description="Files that could not be used, and why.")
    skipped: dict[str, str] = Field(default_factory=dict, description="Files of unsupported types.")
    notes: dict[str, str] = Field(default_factory=dict, description="Files read with a caveat.")
    chunks_written: int = Field(0, description="Chunks embedded and stored.")
    seconds: float = Field(0.0, description="Wall time of the run.")
    dry_run: bool = Field(False, description="True when nothing was written.")

    @property
    def documents(self) -> int:
        return len(self.added) + len(self.changed) + len(self.unchanged)

    def summary(self) -> str:
        verb = "would be written" if self.dry_run else "written"
        return (
            f"{self.documents} documents ({len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, {len(self.failed)} failed, "
            f"{len(self.skipped)} skipped), {self.chunks_written} chunks {verb} in {self.seconds:.1f} s"
        )


@dataclass
class Plan:
    """What a run will do: files to (re)write and sources to remove, decided by content hash."""

    write: list[tuple[Path, bool]] = field(default_factory=list)  # (file, replaces a stored version)
    report: IngestReport = field(default_factory=IngestReport)


def plan(root: Path, store: Store, full: bool = False) -> Plan:
    """Compare the folder with the store by content hash; with full, every file is rewritten.

    A registered document whose chunks are not all in the store (a lost collection, a damaged
    store) is rewritten too: the registry alone must never make it look unchanged.
    """
    found = scan(root)
    records = store.documents()
    stored = {source: d.content_hash for source, d in records.items()}
    held = store.chunk_counts()
    result = Plan()
    result.report.skipped = dict(found.skipped)
    result.report.failed = dict(found.refused)
    seen: set[str] = set()
    for path in found.files:
        source = source_name(path, root)
        seen.add(source)
        try:
            same = stored.get(source) == file_hash(path.read_bytes())
        except OSError as exc:
            result.report.failed[source] = f"cannot read: {exc}"
            continue
        if same and not full and held.get((source, stored[source]), 0) == records[source].chunks:
            result.report.unchanged.append(source)
        else:
            if same and not full:
                result.report.notes[source] = "re-embedded: its chunks were missing from the store"
            result.write.append((path, source in stored))
    result.report.removed = sorted(set(stored) - seen)
    return result


def ingest(
    root: Path,
    store: Store,
    embedder: BaseEmbedding | Callable[[], BaseEmbedding],
    chunk_size: int,
    chunk_overlap: int,
    max_file_bytes: int = 50_000_000,
    limits: ReadLimits | None = None,
    full: bool = False,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Make the store mirror the documents under root: add new, replace changed, drop removed.

    The embedder may be given as a loader, so a run with nothing to embed never loads the model.
    on_progress hears how far the run has come: once the plan is made, as a long document's pages
    are read and its chunks written, and after each batch of documents.
    """
    started = time.perf_counter()
    store.generation()  # reloads the store if another process wrote it, before this run writes
    todo = plan(root, store, full)
    report = todo.report
    skipped = len(report.unchanged)
    total = skipped + len(todo.write)

    if dry_run:
        report.dry_run = True
        for path, replaces in todo.write:
            (report.changed if replaces else report.added).append(source_name(path, root))
        report.seconds = time.perf_counter() - started
        return report
    orphans = store.orphans()  # left by an interrupted run or a replaced version; nobody can see them
    store.delete_chunks(orphans)
    store.sweep_sentences()  # of chunks deleted by earlier runs, now that no reader can still want them
    position = RunPosition()

    def progress() -> None:
        if on_progress:
            elapsed = time.perf_counter() - started
            at = position.of_document(writer.last_written)
            on_progress(IngestProgress(position.done, total, writer.written, elapsed, skipped, *at))

    writer = ChunkWriter(store, embedder, on_write=progress)
    position.done = skipped
    progress()
    for lo in range(0, len(todo.write), _BATCH_DOCUMENTS):
        records: list[DocumentRecord] = []
        for path, replaces in todo.write[lo : lo + _BATCH_DOCUMENTS]:
            source = source_name(path, root)
            try:
                document = open_document(path, root, max_file_bytes, limits)
                pages = position.reading(document, progress)
                records.append(stage_document(document, pages, writer, chunk_size, chunk_overlap))
            except (UnreadableDocument, OSError) as exc:
                discard_draft(store, writer, source)
                report.failed[source] = str(exc)
                continue
            finally:
                position.finished()
            if document.note:
                report.notes[source] = document.note
            (report.changed if replaces else report.added).append(source)
        writer.flush()
        report.chunks_written += publish(store, records)
        position.done = skipped + min(lo + _BATCH_DOCUMENTS, len(todo.write))  # failed files count as done
        progress()
    for source in report.removed:
        remove_document(store, source)
    if report.added or report.changed or report.removed or orphans:
        store.bump_generation()
    report.seconds = time.perf_counter() - started
    return report


class ChunkWriter:
    """Chunks embedded and written a slice at a time, across documents: memory stays bounded however
    long a document is. The model is loaded at the first slice."""

    def __init__(
        self,
        store: Store,
        embedder: BaseEmbedding | Callable[[], BaseEmbedding],
        on_write: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self._model, self._loader = (
            (embedder, None) if isinstance(embedder, BaseEmbedding) else (None, embedder)
        )
        self.on_write = on_write
        self.pending: list[Chunk] = []
        self.written = 0
        self.last_written: Chunk | None = None

    def add(self, chunk: Chunk) -> None:
        self.pending.append(chunk)
        if len(self.pending) >= _CHUNKS_PER_WRITE:
            self.flush()

    def flush(self) -> None:
        """Embed and write the chunks held."""
        if not self.pending:
            return
        if self._model is None:
            assert self._loader is not None
            self._model = self._loader()
        stage_chunks(self.pending, self.store, self._model)
        self.written += len(self.pending)
        self.last_written = self.pending[-1]
        self.pending = []
        if self.on_write:
            self.on_write()

    def discard(self, source: str) -> None:
        """Drop a document's chunks not yet written."""
        self.pending = [c for c in self.pending if c.source != source]


def stage_document(
    document: DocumentStream,
    pages: Iterable[str],
    writer: ChunkWriter,
    chunk_size: int,
    chunk_overlap: int,
) -> DocumentRecord:
    """Chunk a document as its pages are read, handing the chunks to the writer; its record, to
    publish once the writer has flushed."""
    chunks = 0
    read = replace(document, pages=pages)
    for chunk in chunk_stream(read, chunk_size, chunk_overlap):
        writer.add(chunk)
        chunks += 1
    return DocumentRecord(
        source=document.source,
        title=document.title,
        content_hash=document.content_hash,
        chunks=chunks,
        ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def discard_draft(store: Store, writer: ChunkWriter, source: str) -> None:
    """Forget what was written of a document's new version that failed midway; its published
    version, if any, stays as it was."""
    writer.discard(source)
    published = store.readable_versions([source]).get(source, (None, None))[0]
    store.delete_chunks(store.stale_chunk_ids({source: published}))


def publish(store: Store, records: list[DocumentRecord]) -> int:
    """Make written versions the ones readers see, then delete the old ones; returns their chunks."""
    store.publish(records)
    store.delete_chunks(store.stale_chunk_ids({r.source: r.content_hash for r in records}))
    return sum(r.chunks for r in records)


def write_documents(
    documents: list[Document], store: Store, embedder: BaseEmbedding, chunk_size: int, chunk_overlap: int
) -> int:
    """Store new versions, publish them, then delete the old ones; returns chunks written."""
    return publish(store, stage_documents(documents, store, embedder, chunk_size, chunk_overlap))


def stage_documents(
    documents: list[Document], store: Store, embedder: BaseEmbedding, chunk_size: int, chunk_overlap: int
) -> list[DocumentRecord]:
    """Write versions' chunks and sentences, unseen by readers until published."""
    writer = ChunkWriter(store, embedder)
    records = []
    for document in documents:
        stream = as_stream(document)
        records.append(stage_document(stream, stream.pages, writer, chunk_size, chunk_overlap))
    writer.flush()
    return records


def stage_chunks(chunks: list[Chunk], store: Store, embedder: BaseEmbedding) -> None:
    """Embed chunks and their sentences, and write them."""
    sentences = [(c.id, s) for c in chunks for s in split_sentences(c.text)]
    vectors = embed_texts(embedder, [embedding_text(c) for c in chunks])
    # Chunks overlap, so a sentence in the overlap would be embedded twice.
    unique = list(dict.fromkeys(s.text for _, s in sentences))
    row = {text: i for i, text in enumerate(unique)}
    sentence_vectors = embed_texts(embedder, unique)[[row[s.text] for _, s in sentences]]
    if not sentences:
        sentence_vectors = np.zeros((0, vectors.shape[1]), dtype=np.float32)
    store.add(chunks, vectors, sentences, sentence_vectors)


def remove_document(store: Store, source: str) -> None:
    """Hide a document from readers, then delete its chunks."""
    store.unpublish(source)
    store.delete_chunks(store.stale_chunk_ids({source: None}))


def embedding_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its title gives context that the passage alone may lack."""
    return f"{chunk.title}\n{chunk.text}"


class IngestionLock:
    """One ingestion per store at a time; a second one is refused at once, with a clear message."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "ingest.lock"
        self._lock = FileLock(self.path, timeout=0)

    def __enter__(self) -> IngestionLock:
        try:
            self._lock.acquire()
        except Timeout as exc:
            raise IngestionBusy(f"another ingestion is running on this store (lock: {self.path})") from exc
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
