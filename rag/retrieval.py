"""Question → passages: BM25 and dense retrieval fused, then re-ranked by each passage's best sentence."""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.embedding import embed_query
from rag.errors import StoreUnavailable
from rag.lexical import LexicalIndex, cached_index, question_terms, terms
from rag.models import Chunk, Passage, ScoredSentence
from rag.store import Store
from rag.store_cache import SentenceRecord, StoreCache

Mode = Literal["hybrid", "dense", "bm25"]
log = logging.getLogger("rag.retrieval")


@dataclass(frozen=True)
class Query:
    """A question ready for retrieval: its text and its embedding.

    For a follow-up, `text` is the standalone question retrieval sees, while `intent` is the question
    as asked (what kind of answer it wants) and `said` holds what earlier answers already quoted.
    """

    text: str
    embedding: np.ndarray
    intent: str = ""
    said: frozenset[str] = frozenset()

    @property
    def asked(self) -> str:
        return self.intent or self.text


@dataclass(frozen=True)
class Weights:
    """How the signals are mixed; chosen by measurement (see docs/retrieval.md), not per corpus."""

    pool: int = 20  # candidates taken from each retriever and re-ranked
    pool_growth: float = 1.5  # past the pool, candidates per passage asked for: re-ranking needs room

    def candidates(self, top_k: int) -> int:
        """How many candidates each retriever gives and the re-ranking reads, for top_k passages."""
        return max(self.pool, math.ceil(top_k * self.pool_growth))

    bm25: float = 0.4  # share of BM25 (scaled to the query's best) against cosine in the first fusion
    fused: float = 0.3  # share of the first fusion against the best sentence's score in the final rank
    sentence_semantic: float = 0.5  # share of cosine against rare-word overlap in a sentence's score
    links: int = 1  # passages from documents that the best passages name (a second hop), at most


class Retriever:
    """Finds the passages for a query; keeps a BM25 index and a StoreCache in step with the store.

    When the store's generation changes (seen by a request, or told by this process's ingestion),
    both are rebuilt in a background thread. A request waits for the new BM25 index at most
    fresh_wait seconds, then uses the previous one (the version checks below keep its answers
    consistent); only with no index at all does it wait up to first_wait seconds. It never waits
    for the cache: what an older cache lacks is read from the store.
    """

    def __init__(
        self,
        store: Store,
        embedder: BaseEmbedding,
        mode: Mode = "hybrid",
        weights: Weights | None = None,
        index_dir: Path | None = None,
        fresh_wait: float = 0.25,
        first_wait: float = 60.0,
        cache_mb: float = 512.0,
    ) -> None:
        self.store = store
        self.index_dir = index_dir
        self.embedder = embedder
        self.mode = mode
        self.weights = weights or Weights()
        self.fresh_wait = fresh_wait
        self.first_wait = first_wait
        self.cache_mb = cache_mb
        self._lexical: LexicalIndex | None = None
        self._cache = StoreCache()
        self._titles: TitleIndex | None = None
        self._generation: str | None = None
        self._wanted: str | None = None
        self._builder: threading.Thread | None = None
        self._build_error: Exception | None = None
        self._changed = threading.Condition()
        store.on_change(self._store_changed)
        with suppress(StoreUnavailable):  # start now, so the first question finds the indexes built
            self.refresh()

    def query(self, text: str, intent: str = "", said: frozenset[str] = frozenset()) -> Query:
        """Embed a question once, for retrieval and answering alike."""
        return Query(text=text, embedding=embed_query(self.embedder, text), intent=intent, said=said)

    def lexical_index(self) -> LexicalIndex:
        """The BM25 index of the store: of its current generation once built, else the previous one."""
        return self._lexical_index(self.refresh())

    def _lexical_index(self, generation: str) -> LexicalIndex:
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
            if self._cache.generation != generation and self._builder is None:
                self._build_error = None
                self._builder = threading.Thread(target=self._build, name="bm25-build", daemon=True)
                self._builder.start()
        return generation

    def indexes_ready(self) -> bool:
        """Whether the BM25 index and in-memory copy of the store's current version are built (until
        then questions are answered from the previous ones, or from the store itself)."""
        return self.refresh() == self._cache.generation

    @property
    def built_generation(self) -> str | None:
        """The store generation that the newest BM25 index and in-memory copy were built from."""
        return self._cache.generation

    def _store_changed(self) -> None:
        # This process just changed the store: build now, before the next question asks.
        self.refresh()

    def _build(self) -> None:
        """Build indexes until one matches the generation last asked for (it may move meanwhile)."""
        while True:
            with self._changed:
                target = self._wanted or ""
            try:
                built = self._build_generation(target)
            except Exception as exc:
                log.exception("building the BM25 index or the in-memory copy of the store failed")
                with self._changed:
                    self._build_error, self._builder = exc, None
                    self._changed.notify_all()
                return
            with self._changed:
                self._cache = built
                if self._wanted == target:
                    self._builder = None
                self._changed.notify_all()
                if self._builder is None:
                    return

    def _build_generation(self, target: str) -> StoreCache:
        """Publish the BM25 index of the target generation as soon as it is ready, then build its
        StoreCache (updated from the previous one); an index saved on disk is loaded first."""
        updated = cache(lambda: StoreCache.update(self.store, target, self.cache_mb, self._cache))
        if self._generation != target:
            index = self._load_or_build(target, lambda: list(updated().chunks.values()))
            with self._changed:
                self._lexical, self._generation = index, target
                self._changed.notify_all()
        built = updated()
        self._titles = TitleIndex.build({s: d.title for s, d in built.documents.items()}, target)
        return built

    def title_index(self, generation: str | None = None) -> TitleIndex:
        """The documents' titles, to find where a passage names another document; per generation.
        While the background build of a new generation runs, the previous titles serve: building them
        in the request took 0.6 s at 5,000 documents, and a link to a document that has since gone is
        dropped by the version checks anyway."""
        generation = self.store.generation() if generation is None else generation
        titles = self._titles
        if titles is not None and titles.generation != generation and self._builder is not None:
            return titles
        if titles is None or titles.generation != generation:
            cache = self._cache
            documents = cache.documents if cache.generation == generation else self.store.documents()
            sources = {s: d.title for s, d in documents.items()}
            titles = self._titles = TitleIndex.build(sources, generation)
        return titles

    def _load_or_build(self, generation: str, chunks: Callable[[], list[Chunk]]) -> LexicalIndex:
        if self.index_dir is None or not generation:
            return LexicalIndex.build(chunks())
        return cached_index(self.index_dir / self.store.name, generation, chunks)

    def idf(self, text: str, seen_only: bool = False) -> dict[str, float]:
        """How rare each of the text's words is in the store (by the newest BM25 index built); with
        seen_only, 0 for a word no chunk holds (else such words weigh most)."""
        index = self._lexical or self.lexical_index()
        return {
            t: index.idf(t) if not seen_only or index.document_frequency.get(t) else 0.0
            for t in set(terms(text))
        }

    def retrieve(self, query: Query, top_k: int) -> list[Passage]:
        """The top_k passages for the query, best first, each with its sentences scored."""
        w = self.weights
        pool = w.candidates(top_k)
        generation = self.refresh()
        index = self._lexical_index(generation)
        view = _View(self.store, self._cache, generation)
        dense = self.store.nearest_ids(query.embedding, pool) if self.mode != "bm25" else []
        lexical = index.search(query.text, pool) if self.mode != "dense" else []
        cosines = dict(dense)
        wanted = [*cosines, *(cid for cid, _ in lexical if cid not in cosines)]
        candidates: dict[str, tuple[Chunk, float]] = {}
        for cid, (chunk, vector) in view.get_chunks(wanted, set(wanted) - set(cosines)).items():
            cos = cosines[cid] if cid in cosines else float(vector @ query.embedding)  # type: ignore[operator]
            candidates[cid] = (chunk, cos)
        candidates = {cid: candidates[cid] for cid in wanted if cid in candidates}  # dense order first
        candidates = one_version_per_document(candidates, view.readable_versions)
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

        def found(cid: str) -> Passage:
            chunk, cos = candidates[cid]
            return passage(chunk, sentences[cid], cos, bm25.get(cid, 0.0) / top_bm25)

        if self.mode != "hybrid":
            best = sorted(fused, key=fused.__getitem__, reverse=True)[:top_k]
            sentences = self._scored_sentences(query, {cid: candidates[cid][0] for cid in best}, index, view)
            return [found(cid) for cid in best]
        shortlist = sorted(fused, key=fused.__getitem__, reverse=True)[:pool]
        sentences = self._scored_sentences(query, {cid: candidates[cid][0] for cid in shortlist}, index, view)
        final = {
            cid: w.fused * fused[cid] + (1 - w.fused) * max((s.score for s in sentences[cid]), default=0.0)
            for cid in shortlist
        }
        best = sorted(final, key=final.__getitem__, reverse=True)[:top_k]
        passages = [found(cid) for cid in best]
        if w.links and passages:
            linked = self._linked(query, passages, index, view)
            passages = [*passages[:1], *linked[: w.links], *passages[1:]][:top_k]
        return passages

    def _linked(
        self, query: Query, passages: list[Passage], index: LexicalIndex, view: _View
    ) -> list[Passage]:
        """The second hop: the best passage of each document that the top passages name by its title
        while the question does not, for questions whose answer runs through a named bridge."""
        have = {p.chunk.source for p in passages}
        titles = self.title_index(view.generation)
        named: list[str] = []
        for top in passages[:2]:  # a passage naming its own document's title links nothing
            named += [
                s for s in titles.named_in(top.chunk.text, exclude={top.chunk.source}) if s not in named
            ]
        for i, p in enumerate(passages):
            if p.chunk.source in named:
                passages[i] = replace(p, linked=True)
        named = [source for source in named if source not in have]
        if not named:
            return []
        chunks = one_version_per_document(
            {cid: (c, float(v @ query.embedding)) for cid, (c, v) in view.chunks_of(named[:3]).items()},
            view.readable_versions,
        )
        best: dict[str, tuple[Chunk, float]] = {}
        for chunk, cos in chunks.values():
            if chunk.source not in best or cos > best[chunk.source][1]:
                best[chunk.source] = (chunk, cos)
        picked = sorted(best.values(), key=lambda cc: cc[1], reverse=True)
        sentences = self._scored_sentences(query, {c.id: c for c, _ in picked}, index, view)
        return [replace(passage(c, sentences[c.id], cos), linked=True) for c, cos in picked]

    def _scored_sentences(
        self, query: Query, chunks: dict[str, Chunk], index: LexicalIndex, view: _View
    ) -> dict[str, list[ScoredSentence]]:
        chunk_ids = list(chunks)
        stored = view.sentences_of(chunk_ids)
        if not stored:
            return {cid: [] for cid in chunk_ids}
        weights = query_weights(query, index)
        cosines = np.stack([s.embedding for s in stored]) @ query.embedding
        titles = {cid: title_words(chunk.title) for cid, chunk in chunks.items()}
        semantic = self.weights.sentence_semantic
        by_chunk: dict[str, list[ScoredSentence]] = {cid: [] for cid in chunk_ids}
        for i, s in enumerate(stored):
            before = stored[i - 1].words if i and stored[i - 1].chunk_id == s.chunk_id else frozenset()
            overlap = weights.share(s.words)
            context = weights.share(s.words | before | titles.get(s.chunk_id, frozenset()))
            cos = float(cosines[i])
            by_chunk[s.chunk_id].append(
                ScoredSentence(
                    s.sentence.start,
                    s.sentence.end,
                    s.sentence.text,
                    semantic * cos + (1 - semantic) * overlap,
                    cosine=cos,
                    overlap=overlap,
                    context_overlap=context,
                )
            )
        for found in by_chunk.values():
            found.sort(key=lambda s: s.score, reverse=True)
        return by_chunk


_WORD_START = re.compile(r"\b\w")
_WORD = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"\w")


@dataclass(frozen=True)
class _View:
    """One request's reads: from the cache, trusted for versions only when of the current generation."""

    store: Store
    cache: StoreCache
    generation: str

    @property
    def current(self) -> bool:
        return self.cache.generation == self.generation

    def get_chunks(
        self, ids: list[str], embeddings_for: set[str]
    ) -> dict[str, tuple[Chunk, np.ndarray | None]]:
        return self.cache.get_chunks(self.store, ids, embeddings_for)

    def chunks_of(self, sources: list[str]) -> dict[str, tuple[Chunk, np.ndarray]]:
        return self.cache.chunks_of(self.store, self.current, sources)

    def sentences_of(self, chunk_ids: list[str]) -> list[SentenceRecord]:
        return self.cache.sentences_of(self.store, chunk_ids)

    def readable_versions(self, sources: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        return self.cache.readable_versions(self.store, self.current, sources)


@lru_cache(maxsize=4096)
def title_words(title: str) -> frozenset[str]:
    """The words of a title, as terms() gives them."""
    return frozenset(terms(title))


_WORD_RUN = re.compile(r"(?<!\w)\w+")
_WORD_CHAR = re.compile(r"\w")


@dataclass(frozen=True)
class TitleIndex:
    """Finds the documents whose titles a text names, as whole words.

    Titles are looked up by their first word at each word of the text, longest title first, so the
    cost grows with the text, not with the number of documents (one regular expression of 5,000
    titles took 35 ms a passage and 3 s to compile)."""

    sources: dict[str, str]  # title as written in text → source
    by_first_word: dict[str, list[str]]  # longest first
    generation: str = ""

    @classmethod
    def build(cls, titles: dict[str, str], generation: str = "") -> TitleIndex:
        """From source → title; a title's bracketed qualifier is dropped ("Lilu (mythology)" → "Lilu")."""
        sources: dict[str, str] = {}
        for source, title in titles.items():
            name = re.sub(r"\s*\([^)]*\)\s*$", "", title).strip()
            # Short or common titles would link everything to everything.
            if len(name) >= 4 and len(terms(name)) and name[0].isupper():
                sources.setdefault(name, source)
        by_first_word: dict[str, list[str]] = {}
        for name in sorted(sources, key=len, reverse=True):
            first = _WORD_RUN.match(name)
            if first:
                by_first_word.setdefault(first.group(), []).append(name)
        return cls(sources, by_first_word, generation)

    def named_in(self, text: str, exclude: set[str]) -> list[str]:
        """Sources of the documents the text names, in order of first mention."""
        found: list[str] = []
        end = 0
        for word in _WORD_RUN.finditer(text):
            if word.start() < end:
                continue
            for name in self.by_first_word.get(word.group(), ()):
                stop = word.start() + len(name)
                if text.startswith(name, word.start()) and _boundary(text, stop):
                    end = stop
                    source = self.sources[name]
                    if source not in exclude and source not in found:
                        found.append(source)
                    break
        return found


def _boundary(text: str, i: int) -> bool:
    """Whether a regular expression's \\b holds at position i of the text."""
    before = i > 0 and _WORD_CHAR.match(text, i - 1) is not None
    after = i < len(text) and _WORD_CHAR.match(text, i) is not None
    return before != after


def one_version_per_document(
    candidates: dict[str, tuple[Chunk, float]],
    readable_versions: Callable[[Sequence[str]], dict[str, tuple[str, str | None]]],
) -> dict[str, tuple[Chunk, float]]:
    """Keep, for each document, the chunks of a single readable version.

    While a document is replaced, both versions are stored for a moment, and this reader's
    candidates may predate the switch. The published version wins when it is among the
    candidates, else the version it replaced: never both, never neither, never a draft.
    """
    versions = readable_versions([c.source for c, _ in candidates.values()])
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


@dataclass(frozen=True)
class TermWeights:
    """The question's words, each weighed by its rarity in the store (IDF)."""

    weights: dict[str, float]

    def share(self, words: set[str]) -> float:
        """The share of the question's weight that the words cover."""
        total = sum(self.weights.values()) or 1.0
        return sum(w for t, w in self.weights.items() if t in words) / total


def query_weights(query: Query, index: LexicalIndex) -> TermWeights:
    """IDF weights of the question's words; for a follow-up, the words asked now count most."""
    asked = set(question_terms(query.asked))
    said = set(question_terms(query.text)) | asked
    weights = {t: index.idf(t) * (1.0 if t in asked else 0.5) for t in said}
    return TermWeights(weights)


def passage(
    chunk: Chunk, sentences: list[ScoredSentence], cosine: float = 0.0, lexical: float = 0.0
) -> Passage:
    """A retrieved chunk whose relevance is its best sentence's score: 0..1, and the same scale for
    every query (the rank scores are not), so it can feed the decision to abstain."""
    best = sentences[0].score if sentences else 0.0
    return Passage(
        chunk=chunk, score=max(0.0, min(1.0, best)), sentences=sentences, cosine=cosine, lexical=lexical
    )
