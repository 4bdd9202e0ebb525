"""An in-memory copy of one store generation for the question path: chunks, sentences with their words
already tokenised, and (within a memory budget) their embeddings. Anything it lacks is read from the
store, so a cache of an older generation still answers correctly, only with more store reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.chunking import Sentence
from rag.lexical import terms
from rag.models import Chunk, DocumentRecord
from rag.store import Store, chunk_metadata, sentence_id

# Sentence vectors are stored as float16 (see pack_vector), so holding them so loses nothing and halves
# the largest matrix in memory.
SENTENCE_DTYPE = np.float16


@dataclass(frozen=True)
class SentenceRecord:
    """A stored sentence ready for scoring: its place in the chunk, its words, and its embedding."""

    chunk_id: str
    sentence: Sentence
    words: frozenset[str]
    embedding: np.ndarray


@dataclass(frozen=True)
class _CachedSentence:
    sentence: Sentence
    words: frozenset[str]
    row: int  # in StoreCache.sentence_vectors; -1 when vectors are not kept


@dataclass
class StoreCache:
    """The readable chunks and sentences of one generation. A chunk id names one version of a
    document and a place in it, so what an older cache holds for an id is right, except in the
    moment after a re-ingestion with other chunk settings (update() then reads it again)."""

    generation: str | None = None
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    chunks: dict[str, Chunk] = field(default_factory=dict)
    chunk_rows: dict[str, int] = field(default_factory=dict)
    chunk_vectors: np.ndarray | None = None
    sentences: dict[str, tuple[_CachedSentence, ...]] = field(default_factory=dict)
    sentence_vectors: np.ndarray | None = None
    by_source: dict[str, list[str]] = field(default_factory=dict)

    def unused_rows(self, kept: set[str]) -> int:
        """Rows of the embedding matrices that the kept chunks and their sentences do not use."""
        if self.sentence_vectors is None or self.chunk_vectors is None:
            return len(self.chunks) - len(kept)
        used = sum(len(self.sentences.get(cid, ())) for cid in kept)
        return len(self.chunk_vectors) - len(kept) + len(self.sentence_vectors) - used

    def megabytes(self) -> float:
        """Size of the embedding matrices."""
        matrices = (m for m in (self.chunk_vectors, self.sentence_vectors) if m is not None)
        return sum(m.nbytes for m in matrices) / 1024 / 1024

    @classmethod
    def update(cls, store: Store, generation: str, budget_mb: float, previous: StoreCache) -> StoreCache:
        """The cache of the store's current state, reusing what previous holds: after a small
        ingestion only the new chunks and their sentences are read and tokenised."""
        readable = store.readable_chunk_metadata()
        ids = [cid for cid, _ in readable]
        # An id names a document version's n-th chunk: a re-ingestion with other chunk settings
        # reuses it for other text, which its offsets then tell.
        new = [cid for cid, m in readable if cid not in previous.chunks or not _same(previous.chunks[cid], m)]
        kept = set(previous.chunks) - set(new)
        kept &= set(ids)
        # A full build when much changed: it drops unused rows and weighs the memory budget again.
        changed = previous.unused_rows(kept) + len(new) > max(1000, len(ids) // 10)
        if not previous.chunks or changed or previous.megabytes() > budget_mb:
            chunks, vectors = store.all_chunks_with_embeddings()
            return cls.build(store, generation, chunks, vectors, budget_mb)
        fetched = store.get_chunks(new)
        ids = [cid for cid in ids if cid in kept or cid in fetched]  # not deleted meanwhile
        chunks = [previous.chunks[cid] if cid in kept else fetched[cid][0] for cid in ids]
        # Kept chunks keep their rows; new ones are appended. Rows of dropped chunks stay unused
        # until a full build (above) clears them.
        keep = previous.sentence_vectors is not None
        chunk_rows = {cid: previous.chunk_rows[cid] for cid in ids if cid in kept}
        sentences = {cid: previous.sentences.get(cid, ()) for cid in ids if cid in kept}
        chunk_vectors, sentence_vectors = previous.chunk_vectors, previous.sentence_vectors
        new_chunk_vectors: list[np.ndarray] = []
        new_sentence_vectors: list[np.ndarray] = []
        added: dict[str, list[tuple[Sentence, np.ndarray]]] = {cid: [] for cid in fetched}
        for stored in store.sentences_of(list(fetched)):
            added[stored.chunk_id].append((stored.sentence, stored.embedding))
        first_sentence_row = len(sentence_vectors) if sentence_vectors is not None else 0
        for cid in fetched:
            if keep:
                assert chunk_vectors is not None
                chunk_rows[cid] = len(chunk_vectors) + len(new_chunk_vectors)
                new_chunk_vectors.append(fetched[cid][1])
            found = []
            for sentence, vector in sorted(added[cid], key=lambda pair: pair[0].start):
                row = -1
                if keep:
                    row = first_sentence_row + len(new_sentence_vectors)
                    new_sentence_vectors.append(vector)
                found.append(_CachedSentence(sentence, frozenset(terms(sentence.text)), row))
            sentences[cid] = tuple(found)
        if keep and chunk_vectors is not None and sentence_vectors is not None:
            if new_chunk_vectors:
                chunk_vectors = np.concatenate([chunk_vectors, np.stack(new_chunk_vectors)])
            if new_sentence_vectors:
                new_rows = np.stack(new_sentence_vectors).astype(SENTENCE_DTYPE)
                sentence_vectors = np.concatenate([sentence_vectors, new_rows])
        return cls(
            generation=generation,
            documents=store.documents(),
            chunks={c.id: c for c in chunks},
            chunk_rows=chunk_rows,
            chunk_vectors=chunk_vectors,
            sentences=sentences,
            sentence_vectors=sentence_vectors,
            by_source=_by_source(chunks),
        )

    @classmethod
    def build(
        cls, store: Store, generation: str, chunks: list[Chunk], vectors: np.ndarray, budget_mb: float
    ) -> StoreCache:
        """From the readable chunks and their embeddings (as read for the BM25 index) and the store's
        sentences; embeddings are kept only when all of them fit within budget_mb."""
        wanted = {c.id for c in chunks}
        dimensions = vectors.shape[1] if vectors.ndim == 2 else 0
        total = store.sentence_count()
        size = len(chunks) * dimensions * 4 + total * dimensions * np.dtype(SENTENCE_DTYPE).itemsize
        keep = size <= budget_mb * 1024 * 1024
        # Filled page by page, so the peak stays near the matrix itself, not a copy per sentence.
        matrix = np.empty((total if keep else 0, dimensions), dtype=SENTENCE_DTYPE)
        rows = 0
        by_chunk: dict[str, list[_CachedSentence]] = {}
        for pairs, page in store.sentence_pages(embeddings=keep):
            for i, (cid, sentence) in enumerate(pairs):
                if cid not in wanted:  # an orphan
                    continue
                row = -1
                if keep and page is not None:
                    if rows == len(matrix):  # sentences written since they were counted
                        more = np.empty((max(1024, rows // 4), dimensions), SENTENCE_DTYPE)
                        matrix = np.vstack([matrix, more])
                    matrix[rows], row, rows = page[i], rows, rows + 1
                words = frozenset(terms(sentence.text))
                by_chunk.setdefault(cid, []).append(_CachedSentence(sentence, words, row))
        for found in by_chunk.values():
            found.sort(key=lambda s: s.sentence.start)
        return cls(
            generation=generation,
            documents=store.documents(),
            chunks={c.id: c for c in chunks},
            chunk_rows={c.id: i for i, c in enumerate(chunks)},
            chunk_vectors=vectors if keep else None,
            sentences={cid: tuple(found) for cid, found in by_chunk.items()},
            sentence_vectors=matrix[:rows] if keep else None,
            by_source=_by_source(chunks),
        )

    def readable_versions(
        self, store: Store, current: bool, sources: Sequence[str]
    ) -> dict[str, tuple[str, str | None]]:
        """Store.readable_versions, from memory when this cache is of the store's current generation."""
        if not current:
            return store.readable_versions(sources)
        return {
            s: (self.documents[s].content_hash, self.documents[s].previous_hash)
            for s in set(sources)
            if s in self.documents
        }

    def get_chunks(
        self, store: Store, ids: Sequence[str], embeddings_for: set[str]
    ) -> dict[str, tuple[Chunk, np.ndarray | None]]:
        """Chunks by id, with the embeddings of those in embeddings_for; one store read for the rest."""
        found: dict[str, tuple[Chunk, np.ndarray | None]] = {}
        missing: list[str] = []
        for cid in ids:
            chunk = self.chunks.get(cid)
            if chunk is None or (cid in embeddings_for and self.chunk_vectors is None):
                missing.append(cid)
            elif cid in embeddings_for:
                assert self.chunk_vectors is not None
                found[cid] = (chunk, self.chunk_vectors[self.chunk_rows[cid]])
            else:
                found[cid] = (chunk, None)
        found.update(store.get_chunks(missing))
        return found

    def chunks_of(
        self, store: Store, current: bool, sources: Sequence[str]
    ) -> dict[str, tuple[Chunk, np.ndarray]]:
        """Store.chunks_of for readers: the readable chunks of the documents, with their embeddings."""
        if not current or self.chunk_vectors is None:
            return store.chunks_of(sources)
        ids = [cid for source in sources for cid in self.by_source.get(source, [])]
        found = self.get_chunks(store, ids, set(ids))
        return {cid: (chunk, vector) for cid, (chunk, vector) in found.items() if vector is not None}

    def sentences_of(self, store: Store, chunk_ids: Sequence[str]) -> list[SentenceRecord]:
        """The sentences of the chunks in (chunk id, start) order; at most two store reads, for
        uncached chunks and for embeddings not kept in memory."""
        found: list[SentenceRecord] = []
        unread: list[tuple[str, _CachedSentence]] = []
        missing: list[str] = []
        for cid in chunk_ids:
            cached = self.sentences.get(cid)
            if cached is None:
                missing.append(cid)
                continue
            for s in cached:
                if s.row < 0:
                    unread.append((cid, s))
                else:
                    assert self.sentence_vectors is not None
                    found.append(SentenceRecord(cid, s.sentence, s.words, self.sentence_vectors[s.row]))
        if unread:
            vectors = store.sentence_embeddings([sentence_id(cid, s.sentence) for cid, s in unread])
            for cid, s in unread:
                vector = vectors.get(sentence_id(cid, s.sentence))
                if vector is not None:  # swept meanwhile: the chunk is gone
                    found.append(SentenceRecord(cid, s.sentence, s.words, vector))
        for s in store.sentences_of(missing):
            found.append(
                SentenceRecord(s.chunk_id, s.sentence, frozenset(terms(s.sentence.text)), s.embedding)
            )
        found.sort(key=lambda s: (s.chunk_id, s.sentence.start))
        return found


def _by_source(chunks: list[Chunk]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for c in chunks:
        found.setdefault(c.source, []).append(c.id)
    return found


def _same(chunk: Chunk, stored: dict) -> bool:
    """Whether the stored metadata still describes the cached chunk."""
    return all(stored.get(key) == value for key, value in chunk_metadata(chunk).items())
