"""Passages → answer. The default answerer quotes the best sentences verbatim, each with its citation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from rag.models import Answer, Citation, Passage, ScoredSentence, Span
from rag.retrieval import Query

NOT_FOUND = "I could not find the answer to that in the documents."
MAX_ANSWER_WORDS = 80


@dataclass(frozen=True)
class CitationsEvent:
    """First event of a stream: the passages the answer may cite, numbered as it will cite them."""

    citations: list[Citation]


@dataclass(frozen=True)
class TokenEvent:
    """A piece of answer text as it is produced."""

    text: str


AnswerEvent = CitationsEvent | TokenEvent | Answer  # a stream ends with the whole Answer


class Answerer(Protocol):
    """Anything that turns a question and its passages into a cited answer."""

    name: str

    def answer(self, query: Query, passages: list[Passage]) -> Answer: ...

    def stream(self, query: Query, passages: list[Passage]) -> Iterator[AnswerEvent]: ...


def abstain() -> Answer:
    """The answer when the documents hold nothing relevant enough."""
    return Answer(answer=NOT_FOUND, citations=[], abstained=True)


class ExtractiveAnswerer:
    """Quotes the sentences that retrieval scored best, without an LLM; nothing is re-embedded here."""

    name = "extractive"

    def __init__(self, max_sentences: int = 3, keep_ratio: float = 0.65) -> None:
        self.max_sentences = max_sentences
        # A further sentence joins the answer only when it scores nearly as well as the best one.
        self.keep_ratio = keep_ratio

    def answer(self, query: Query, passages: list[Passage]) -> Answer:
        ranked = rank_sentences(passages)
        if not ranked:
            return abstain()
        best = ranked[0][1].score
        chosen: list[tuple[Passage, ScoredSentence]] = []
        words = 0
        for passage, sentence in ranked:
            if len(chosen) >= self.max_sentences or sentence.score < self.keep_ratio * best:
                break
            length = len(sentence.text.split())
            if chosen and words + length > MAX_ANSWER_WORDS:
                continue
            chosen.append((passage, sentence))
            words += length
        return cite(chosen)

    def stream(self, query: Query, passages: list[Passage]) -> Iterator[AnswerEvent]:
        """The whole answer at once: there is nothing to wait for."""
        answer = self.answer(query, passages)
        yield CitationsEvent(answer.citations)
        yield TokenEvent(answer.answer)
        yield answer


def rank_sentences(passages: list[Passage]) -> list[tuple[Passage, ScoredSentence]]:
    """Every sentence of the passages, best first; a sentence repeated by overlapping chunks counts once."""
    ranked = sorted(((p, s) for p in passages for s in p.sentences), key=lambda ps: ps[1].score, reverse=True)
    seen: set[str] = set()
    unique = []
    for passage, sentence in ranked:
        if sentence.text not in seen:
            seen.add(sentence.text)
            unique.append((passage, sentence))
    return unique


def cite(chosen: list[tuple[Passage, ScoredSentence]]) -> Answer:
    """Join the sentences, each marked [n], numbering citations in order of first use."""
    numbers: dict[str, int] = {}
    cited: dict[str, tuple[Passage, list[Span]]] = {}
    parts: list[str] = []
    for passage, sentence in chosen:
        chunk = passage.chunk
        if chunk.id not in numbers:
            numbers[chunk.id] = len(numbers) + 1
            cited[chunk.id] = (passage, [])
        cited[chunk.id][1].append(Span(start=sentence.start, end=sentence.end, text=sentence.text))
        parts.append(f"{sentence.text} [{numbers[chunk.id]}]")
    citations = [Citation.of(numbers[cid], passage, spans) for cid, (passage, spans) in cited.items()]
    return Answer(answer=" ".join(parts), citations=citations, abstained=False)


def citation(number: int, passage: Passage) -> Citation:
    """A passage as cited under a number."""
    return Citation.of(number, passage, [])
