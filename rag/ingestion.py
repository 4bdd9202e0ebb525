"""Documents → chunks → store: bring the store in line with a folder, re-embedding only what changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.chunking import Sentence, chunk_document, split_sentences
from rag.documents import find_files, read_document
from rag.embedding import embed_texts
from rag.models import Chunk, Document
from rag.store import Store


@dataclass
class IngestReport:
    """What one ingestion run did, file by file."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    chunks_written: int = 0
    seconds: float = 0.0

    @property
    def documents(self) -> int:
        return len(self.added) + len(self.changed) + len(self.unchanged)

    def summary(self) -> str:
        return (
            f"{self.documents} documents ({len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, {len(self.failed)} failed), "
            f"{self.chunks_written} chunks written in {self.seconds:.1f} s"
        )


def ingest(
    root: Path,
    store: Store,
    embedder: BaseEmbedding,
    chunk_size: int,
    chunk_overlap: int,
    on_progress: Callable[[str], None] | None = None,
) -> IngestReport:
    """Make the store mirror the documents under root: add new, replace changed, drop removed."""
    started = time.perf_counter()
    files = find_files(root)
    report = IngestReport()
    stored = store.documents()
    seen: set[str] = set()
    for path in files:
        try:
            document = read_document(path, root)
        except OSError as exc:
            report.failed[str(path)] = f"cannot read: {exc}"
            continue
        seen.add(document.source)
        if not document.text.strip():
            report.failed[document.source] = "empty document"
        elif stored.get(document.source) == document.content_hash:
            report.unchanged.append(document.source)
        else:
            report.chunks_written += write_document(document, store, embedder, chunk_size, chunk_overlap)
            (report.changed if document.source in stored else report.added).append(document.source)
        if on_progress:
            on_progress(document.source)
    for source in sorted(set(stored) - seen):
        store.delete_source(source)
        report.removed.append(source)
    if report.added or report.changed or report.removed:
        store.bump_generation()
    report.seconds = time.perf_counter() - started
    return report


def write_document(
    document: Document, store: Store, embedder: BaseEmbedding, chunk_size: int, chunk_overlap: int
) -> int:
    """Chunk, embed and store one document, then drop its previous version; returns chunks written."""
    chunks = chunk_document(document, chunk_size, chunk_overlap)
    sentences = sentences_of(chunks)
    vectors = embed_texts(embedder, [embedding_text(c) for c in chunks])
    sentence_vectors = embed_texts(embedder, [s.text for _, s in sentences])
    if not sentences:
        sentence_vectors = np.zeros((0, vectors.shape[1]), dtype=np.float32)
    store.add(chunks, vectors, sentences, sentence_vectors)
    # New ids are written before old ones go, so a reader always finds one version.
    store.delete_source(document.source, keep_hash=document.content_hash)
    return len(chunks)


def sentences_of(chunks: list[Chunk]) -> list[tuple[str, Sentence]]:
    """Every sentence of every chunk, tagged with its chunk id."""
    return [(c.id, s) for c in chunks for s in split_sentences(c.text)]


def embedding_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its title gives context that the passage alone may lack."""
    return f"{chunk.title}\n{chunk.text}"
