"""Question → passages: BM25 and dense retrieval fused, then re-ranked by each passage's best sentence."""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.embedding import embed_query
from rag.errors import StoreUnavailable
from rag.lexical import LexicalIndex, terms
from rag.models import Chunk, Passage, ScoredSentence
from rag.store import Store, StoredSentence

Mode = Literal["hybrid", "dense", "bm25"]
log = logging.getLogger("rag.retrieval")


@dataclass(frozen=True)
class Query:
    """A question ready for retrieval: its text and its embedding."""

    text: str
    embedding: np.ndarray


@dataclass(frozen=True)
class Weights:
    """How the signals are mixed; chosen by measurement (see docs/retrieval.md), not per corpus."""

    pool: int = 20  # candidates taken from each retriever and re-ranked
    bm25: float = 0.4  # share of BM25 (scaled to the query's best) against cosine in the first fusion
    fused: float = 0.3  # share of the first fusion against the best sentence's score in the final rank
    sentence_semantic: float = 0.5  # share of cosine against rare-word overlap in a sentence's score


class Retriever:
    """Finds the passages for a query; keeps a BM25 index in step with the store.

    When the store's generation changes, the new BM25 index is built in a background thread.
    A request waits for it at most fresh_wait seconds, then uses the previous index (the
    version checks below keep its answers consistent); only with no index at all does it wait
    up to first_wait seconds.
    """

    def __init__(
        self,
        store: Store,
        embedder: BaseEmbedding,
        mode: Mode = "hybrid",
        weights: Weights | None = None,
        index_dir: Path | None = None,
        fresh_wait: float = 1.0,
        first_wait: float = 60.0,
    ) -> None:
        self.store = store
        self.index_dir = index_dir
        self.embedder = embedder
        self.mode = mode
        self.weights = weights or Weights()
        self.fresh_wait = fresh_wait
        self.first_wait = first_wait
        self._lexical: LexicalIndex | None = None
        self._generation: str | None = None
        self._wanted: str | None = None
        self._builder: threading.Thread | None = None
        self._build_error: Exception | None = None
        self._changed = threading.Condition()

    def query(self, text: str) -> Query:
        """Embed a question once, for retrieval and answering alike."""
        return Query(text=text, embedding=embed_query(self.embedder, text))

    def lexical_index(self) -> LexicalIndex:
        """The BM25 index of the store: of its current generation once built, else the previous one."""
        generation = self.refresh()
        with self._changed:
            if self._generation != generation:
                self._changed.wait_for(
                    lambda: self._generation == generation or self._builder is None,
                    timeout=self.fresh_wait if self._lexical is not None else self.first_wait,
                )
            if self._lexical is None:
                if self._build_error is not None:
                    raise self._build_error
                raise StoreUnavailable("the search index is still being built; try again shortly")
            return self._lexical

    def refresh(self) -> str:
        """Start building the index of the store's current generation, if not built; never waits."""
        generation = self.store.generation()
        with self._changed:
            self._wanted = generation
            if self._generation != generation and self._builder is None:
                self._build_error = None
                self._builder = threading.Thread(target=self._build, name="bm25-build", daemon=True)
                self._builder.start()
        return generation

    def _build(self) -> None:
        """Build indexes until one matches the generation last asked for (it may move meanwhile)."""
        while True:
            with self._changed:
                target = self._wanted
            try:
                index = self._load_or_build(target or "")
            except Exception as exc:
                log.exception("building the BM25 index failed")
                with self._changed:
                    self._build_error, self._builder = exc, None
                    self._changed.notify_all()
                return
            with self._changed:
                self._lexical, self._generation = index, target
                if self._wanted == target:
                    self._builder = None
                self._changed.notify_all()
                if self._builder is None:
                    return

    def _load_or_build(self, generation: str) -> LexicalIndex:
        if self.index_dir is None or not generation:
            return LexicalIndex.build(self.store.all_chunks())
        # The store is the truth; the file is a cache named by the generation it was built from,
        # so processes sharing a store never serve an index of another version.
        folder = self.index_dir / self.store.name / generation
        if folder.exists():
            try:
                return LexicalIndex.load(folder)
            except Exception as exc:  # truncated, garbage, or from another version of bm25s
                log.warning("BM25 cache %s cannot be read (%s); rebuilding it from the store", folder, exc)
                shutil.rmtree(folder, ignore_errors=True)
        index = LexicalIndex.build(self.store.all_chunks())
        folder.parent.mkdir(parents=True, exist_ok=True)
        index.save(folder)
        for stale in folder.parent.iterdir():
            if stale.name != generation:
                shutil.rmtree(stale, ignore_errors=True)
        return index

    def retrieve(self, query: Query, top_k: int) -> list[Passage]:
        """The top_k passages for the query, best first, each with its sentences scored."""
        w = self.weights
        pool = max(w.pool, top_k)
        index = self.lexical_index()
        dense = self.store.nearest(query.embedding, pool) if self.mode != "bm25" else []
        lexical = index.search(query.text, pool) if self.mode != "dense" else []
        candidates = {c.id: (c, cos) for c, cos in dense}
        for chunk_id, (chunk, vector) in self.store.get_chunks(
            [cid for cid, _ in lexical if cid not in candidates]
        ).items():
            candidates[chunk_id] = (chunk, float(vector @ query.embedding))
        candidates = one_version_per_document(candidates, self.store)
        bm25 = dict(lexical)
        top_bm25 = max(bm25.values(), default=0.0) or 1.0
        fused = {
            cid: {
                "hybrid": w.bm25 * bm25.get(cid, 0.0) / top_bm25 + (1 - w.bm25) * cos,
                "dense": cos,
                "bm25": bm25.get(cid, 0.0) / top_bm25,
            }[self.mode]
            for cid, (_, cos) in candidates.items()
        }
        if self.mode != "hybrid":
            best = sorted(fused, key=fused.__getitem__, reverse=True)[:top_k]
            sentences = self._scored_sentences(query, best, index)
            return [passage(candidates[cid][0], sentences[cid]) for cid in best]
        shortlist = sorted(fused, key=fused.__getitem__, reverse=True)[:pool]
        sentences = self._scored_sentences(query, shortlist, index)
        final = {
            cid: w.fused * fused[cid] + (1 - w.fused) * max((s.score for s in sentences[cid]), default=0.0)
            for cid in shortlist
        }
        best = sorted(final, key=final.__getitem__, reverse=True)[:top_k]
        return [passage(candidates[cid][0], sentences[cid]) for cid in best]

    def _scored_sentences(
        self, query: Query, chunk_ids: list[str], index: LexicalIndex
    ) -> dict[str, list[ScoredSentence]]:
        stored = self.store.sentences_of(chunk_ids)
        scores = sentence_scores(query, stored, index, self.weights.sentence_semantic)
        by_chunk: dict[str, list[ScoredSentence]] = {cid: [] for cid in chunk_ids}
        for s, score in zip(stored, scores, strict=True):
            by_chunk[s.chunk_id].append(
                ScoredSentence(s.sentence.start, s.sentence.end, s.sentence.text, score)
            )
        for found in by_chunk.values():
            found.sort(key=lambda s: s.score, reverse=True)
        return by_chunk


def one_version_per_document(
    candidates: dict[str, tuple[Chunk, float]], store: Store
) -> dict[str, tuple[Chunk, float]]:
    """Keep, for each document, the chunks of a single readable version.

    While a document is replaced, both versions are stored for a moment, and this reader's
    candidates may predate the switch. The published version wins when it is among the
    candidates, else the version it replaced: never both, never neither, never a draft.
    """
    versions = store.readable_versions([c.source for c, _ in candidates.values()])
    found: dict[str, set[str]] = {}
    for chunk, _ in candidates.values():
        found.setdefault(chunk.source, set()).add(chunk.content_hash)
    chosen: dict[str, str] = {}
    for source, hashes in found.items():
        current, previous = versions.get(source, (None, None))
        pick = current if current in hashes else previous if previous in hashes else None
        if pick:
            chosen[source] = pick
    return {cid: (c, cos) for cid, (c, cos) in candidates.items() if chosen.get(c.source) == c.content_hash}


def sentence_scores(
    query: Query, sentences: list[StoredSentence], index: LexicalIndex, semantic_weight: float
) -> list[float]:
    """How well each sentence answers the query: cosine mixed with the share of the query's rare words."""
    if not sentences:
        return []
    weights = {t: index.idf(t) for t in set(terms(query.text))}
    total = sum(weights.values()) or 1.0
    cosines = np.stack([s.embedding for s in sentences]) @ query.embedding
    return [
        semantic_weight * float(cos)
        + (1 - semantic_weight) * sum(weights[t] for t in set(terms(s.sentence.text)) if t in weights) / total
        for s, cos in zip(sentences, cosines, strict=True)
    ]


def passage(chunk: Chunk, sentences: list[ScoredSentence]) -> Passage:
    """A retrieved chunk whose relevance is its best sentence's score: 0..1, and the same scale for
    every query (the rank scores are not), so one threshold can decide when to abstain."""
    best = sentences[0].score if sentences else 0.0
    return Passage(chunk=chunk, score=max(0.0, min(1.0, best)), sentences=sentences)
