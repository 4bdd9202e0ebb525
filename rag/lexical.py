"""BM25 over the stored chunks, with the same tokens reused to weigh words in answers."""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import bm25s
import Stemmer

from rag.models import Chunk

log = logging.getLogger("rag.lexical")
_WORD = re.compile(r"(?u)\b\w\w*\b")
ABANDONED_SAVE_S = 3600  # a save unfinished after an hour was left by a process that died


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed words of a text, stop words left out."""
    stop = _stopwords()
    words = [w for w in _WORD.findall(text.lower()) if w not in stop]
    return _stemmer().stemWords(words)


# A question's "where" or "which" says what kind of answer it wants, not what it is about: matched as a word
# it sent "and where?" to "except where a section says otherwise" in another document.
# Stemmed as terms() gives them ("why" is "whi").
QUESTION_WORDS = frozenset(["what", "when", "where", "who", "whom", "whose", "which", "whi", "how"])


def question_terms(text: str) -> list[str]:
    """The terms of a question that say what it is about: terms() without its question words."""
    return [t for t in terms(text) if t not in QUESTION_WORDS]


def share_held(words: dict[str, float], chunk: Chunk) -> float:
    """The share of the words' weight that a chunk (its text and title) holds; 0 for no weight."""
    total = sum(words.values())
    if not total:
        return 0.0
    held = set(terms(f"{chunk.title} {chunk.text}"))
    return sum(w for t, w in words.items() if t in held) / total


class LexicalIndex:
    """A BM25 index of chunks and the document frequency of each term."""

    def __init__(self, chunk_ids: list[str], document_frequency: Counter[str], bm25: bm25s.BM25) -> None:
        self.chunk_ids = chunk_ids
        self.document_frequency = document_frequency
        self.size = len(chunk_ids)
        self._bm25 = bm25

    @classmethod
    def build(cls, chunks: list[Chunk]) -> LexicalIndex:
        """Index the chunks' titles and texts."""
        tokenized = [terms(f"{c.title}\n{c.text}") for c in chunks]
        bm25 = bm25s.BM25()
        if chunks:
            bm25.index(tokenized, show_progress=False)
        frequency = Counter(t for toks in tokenized for t in set(toks))
        return cls([c.id for c in chunks], frequency, bm25)

    def save(self, folder: Path) -> None:
        """Write the index to folder atomically: readers see the whole index or none."""
        staging = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}")
        staging.mkdir(parents=True)
        if self.size:
            self._bm25.save(str(staging), show_progress=False)
        meta = {"chunk_ids": self.chunk_ids, "document_frequency": self.document_frequency}
        (staging / "chunks.json").write_text(json.dumps(meta))
        try:
            staging.rename(folder)
        except OSError:  # another process saved the same index first
            shutil.rmtree(staging, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """Read an index written by save(); ValueError when the files do not make one index."""
        meta = json.loads((folder / "chunks.json").read_text())
        ids = meta["chunk_ids"]
        bm25 = bm25s.BM25.load(str(folder), show_progress=False) if ids else bm25s.BM25()
        if ids and bm25.scores.get("num_docs") != len(ids):
            raise ValueError(f"the index holds {bm25.scores.get('num_docs')} chunks, the list {len(ids)}")
        return cls(ids, Counter(meta["document_frequency"]), bm25)

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """The n best chunk ids for the query with their BM25 scores (only those that match)."""
        query_terms = [t for t in question_terms(query) if t in self.document_frequency]
        if not query_terms or not self.size:
            return []
        ids, scores = self._bm25.retrieve(
            [query_terms], k=min(n, self.size), show_progress=False, n_threads=0
        )
        return [(self.chunk_ids[int(i)], float(s)) for i, s in zip(ids[0], scores[0], strict=True) if s > 0]

    def idf(self, term: str) -> float:
        """Inverse document frequency; unseen terms weigh most."""
        df = self.document_frequency.get(term, 0)
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))


def cached_index(folder: Path, generation: str, chunks: Callable[[], list[Chunk]]) -> LexicalIndex:
    """The BM25 index of one store generation: read from folder/generation, else built from chunks()
    and saved there, the folders of other generations removed.

    The store is the truth; the file is a cache named by the generation it was built from, so
    processes sharing a store never serve an index of another version."""
    path = folder / generation
    if path.exists():
        try:
            return LexicalIndex.load(path)
        except Exception as exc:  # truncated, garbage, or from another version of bm25s
            log.warning("BM25 cache %s cannot be read (%s); rebuilding it from the store", path, exc)
            shutil.rmtree(path, ignore_errors=True)
    index = LexicalIndex.build(chunks())
    folder.mkdir(parents=True, exist_ok=True)
    index.save(path)
    for stale in folder.iterdir():
        if stale.name != generation and not _being_written(stale):
            shutil.rmtree(stale, ignore_errors=True)
    return index


def _being_written(path: Path) -> bool:
    """Hidden folders are other processes' (or threads') saves still being written, unless old
    enough that their writer must have died."""
    try:
        return path.name.startswith(".") and time.time() - path.stat().st_mtime < ABANDONED_SAVE_S
    except FileNotFoundError:  # its writer just renamed or removed it
        return True
