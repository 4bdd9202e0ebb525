"""Passages → answer. The default answerer quotes the best sentences verbatim, each with its citation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from rag.lexical import terms
from rag.models import Answer, Citation, Passage, Span
from rag.reading import Reading, answer_span, read
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


def abstain(notice: str | None = None) -> Answer:
    """The answer when the documents hold nothing relevant enough (with a notice saying why, if known)."""
    return Answer(answer=NOT_FOUND, citations=[], abstained=True, notice=notice)


class ExtractiveAnswerer:
    """Quotes the sentence most likely to answer, and marks the answer in it; no LLM, nothing embedded."""

    name = "extractive"

    def __init__(self, max_sentences: int = 3, keep_ratio: float = 0.03) -> None:
        self.max_sentences = max_sentences
        # A further sentence joins only when it is likely enough to answer and says something new. The
        # reader model makes the lead's share sharp: 3% of it keeps a few more words than 20% did before.
        self.keep_ratio = keep_ratio

    def answer(self, query: Query, passages: list[Passage]) -> Answer:
        readings = read(query.asked, passages)
        said = [any(r.text in earlier for earlier in query.said) for r in readings]
        fresh = [r for r, repeat in zip(readings, said, strict=True) if not repeat]
        # What an earlier answer quoted may lead again when the reader model finds it the most convincing
        # answer to the new question ("And how long does that take?" about a sentence that said so);
        # otherwise a follow-up wants something new. A repeat never joins as a further sentence.
        best_fresh = max((r.checked for r in fresh if r.checked is not None), default=0.0)
        lead = next(
            (
                r
                for r, repeat in zip(readings, said, strict=True)
                if not repeat or (r.checked is not None and r.checked >= best_fresh)
            ),
            None,
        )
        if lead is None:
            return abstain()
        return cite(self.choose([lead, *[r for r in fresh if r is not lead]]), query.asked)

    def choose(self, readings: list[Reading]) -> list[Reading]:
        """The lead sentence, then others only when likely enough and not a repeat of what is chosen."""
        lead = readings[0]
        chosen = [lead]
        words = len(lead.text.split())
        for r in readings[1:]:
            if len(chosen) >= self.max_sentences or r.probability < self.keep_ratio * lead.probability:
                break
            length = len(r.text.split())
            if words + length > MAX_ANSWER_WORDS or any(repeats(r.text, c.text) for c in chosen):
                continue
            if r.passage.chunk.source != lead.passage.chunk.source and not r.passage.linked:
                continue  # another document's sentence is filler more often than not
            chosen.append(r)
            words += length
        # A second hop was taken because the lead's passage names another document: the answer runs
        # across both, so that document's best sentence joins when nothing of it is chosen yet.
        if not any(r.passage.linked for r in chosen):
            bridge = next((r for r in readings if r.passage.linked), None)
            if bridge is not None and words + len(bridge.text.split()) <= MAX_ANSWER_WORDS:
                chosen.append(bridge)
        return chosen

    def stream(self, query: Query, passages: list[Passage]) -> Iterator[AnswerEvent]:
        """The whole answer at once: there is nothing to wait for."""
        answer = self.answer(query, passages)
        yield CitationsEvent(answer.citations)
        yield TokenEvent(answer.answer)
        yield answer


def repeats(text: str, other: str) -> bool:
    """True when most of a sentence's words are already in another."""
    a, b = set(terms(text)), set(terms(other))
    return bool(a) and len(a & b) / len(a) >= 0.7


def cite(chosen: list[Reading], question: str = "") -> Answer:
    """Join the sentences, each marked [n], numbering citations in order of first use; the lead's answer
    span becomes its citation's quote."""
    numbers: dict[str, int] = {}
    cited: dict[str, tuple[Passage, list[Span], list[Span]]] = {}  # passage, sentences, quote
    parts: list[str] = []
    # Only the lead's span is marked: one in a later sentence is more often wrong than right (measured).
    marked = chosen[0] if chosen else None
    for reading in chosen:
        chunk = reading.passage.chunk
        if chunk.id not in numbers:
            numbers[chunk.id] = len(numbers) + 1
            cited[chunk.id] = (reading.passage, [], [])
        _, sentences, quote = cited[chunk.id]
        sentences.append(
            Span(start=reading.start, end=reading.end, text=chunk.text[reading.start : reading.end])
        )
        span = answer_span(reading, question) if reading is marked else None
        located = None
        if span:  # the span's offsets are in the sentence as read (whitespace normalised): count instead
            nth = len(re.findall(_whole_words(span.text), reading.text[: span.start]))
            located = locate(chunk.text, reading.start, reading.end, span.text, nth)
        if located is not None:
            quote.append(located)
        text = shorten(reading.text, span.text if span else None)
        parts.append(f"{text} [{numbers[chunk.id]}]")
    citations = [
        Citation.of(numbers[cid], passage, sentences, quote[0] if quote else None)
        for cid, (passage, sentences, quote) in cited.items()
    ]
    return Answer(answer=" ".join(parts), citations=citations, abstained=False)


def locate(text: str, start: int, end: int, needle: str, nth: int = 0) -> Span | None:
    """Where the answer span sits in the chunk: the nth whole-word occurrence of needle in
    text[start:end], tolerant of line breaks inside it ("Russian" is not the start of "Russians")."""
    matches = list(re.finditer(_whole_words(needle), text[start:end]))
    if len(matches) <= nth:
        return None
    match = matches[nth]
    return Span(start=start + match.start(), end=start + match.end(), text=match.group())


def _whole_words(needle: str) -> str:
    return r"(?<!\w)" + r"\s+".join(re.escape(w) for w in needle.split()) + r"(?!\w)"


def shorten(text: str, keep: str | None) -> str:
    """A sentence within the word limit: around the answer span when there is one."""
    words = text.split()
    if len(words) <= MAX_ANSWER_WORDS:
        return text
    at = 0
    if keep:
        first = keep.split()[0]
        at = next((i for i, w in enumerate(words) if first in w), 0)
    lo = max(0, min(at - MAX_ANSWER_WORDS // 2, len(words) - MAX_ANSWER_WORDS))
    window = words[lo : lo + MAX_ANSWER_WORDS]
    return ("… " if lo else "") + " ".join(window) + (" …" if lo + MAX_ANSWER_WORDS < len(words) else "")


def citation(number: int, passage: Passage) -> Citation:
    """A passage as cited under a number."""
    return Citation.of(number, passage, [])
