"""The typed values that flow through the pipeline: files → documents → chunks → passages → answers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field


@dataclass(frozen=True)
class Document:
    """One source file's text, with where it came from."""

    source: str  # path relative to the corpus root, with forward slashes
    title: str
    text: str
    content_hash: str
    page_starts: tuple[int, ...] = ()  # offset of each page in text, for paged formats
    note: str | None = None  # e.g. the encoding guessed for a file that was not UTF-8

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding a character offset, or None for formats without pages."""
        if not self.page_starts:
            return None
        return sum(1 for start in self.page_starts if start <= offset) or 1


PAGE_SEPARATOR = "\n\n"  # between the pages of a paged file's text


@dataclass(frozen=True)
class DocumentStream:
    """One source file opened for ingestion: where it came from, and its text as pages read one at a
    time (one "page", the whole text, for formats without pages). The text is the pages joined by a
    blank line."""

    source: str
    title: str
    content_hash: str
    pages: Iterable[str]
    paged: bool = False  # pages are real pages, numbered in citations
    page_count: int | None = None  # known up front for paged formats
    note: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A token-bounded span of a document, the unit that is embedded and stored."""

    id: str
    source: str
    title: str
    content_hash: str
    index: int
    start_char: int
    end_char: int
    text: str
    page: int | None = None
    # Offsets within text where a later page begins, so a sentence deep in the chunk gets its own page.
    page_starts: tuple[int, ...] = ()
    section: str | None = None  # the Markdown heading in force where the chunk starts

    def page_at(self, offset: int) -> int | None:
        """The page holding an offset within the chunk's text (None for formats without pages)."""
        if self.page is None:
            return None
        return self.page + sum(1 for start in self.page_starts if start <= offset)

    def section_at(self, offset: int) -> str | None:
        """The Markdown heading in force at an offset within the chunk's text."""
        headings = HEADING.findall(self.text[:offset])
        return headings[-1].strip() if headings else self.section


HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


@dataclass(frozen=True)
class ScoredSentence:
    """A sentence of a passage with how well it answers the query; offsets are within the chunk."""

    start: int
    end: int
    text: str
    score: float
    cosine: float = 0.0  # similarity of the sentence's embedding to the question's
    overlap: float = 0.0  # share of the question's rare-word weight found in the sentence
    context_overlap: float = 0.0  # the same, over the sentence, the one before it and the title


@dataclass(frozen=True)
class Passage:
    """A chunk retrieved for a query: its relevance (0..1, comparable across queries) and sentences."""

    chunk: Chunk
    score: float
    sentences: list[ScoredSentence] = field(default_factory=list)
    cosine: float = 0.0  # the chunk's embedding against the question's
    lexical: float = 0.0  # its BM25 score over the query's best (0 when BM25 did not find it)
    linked: bool = False  # found by a second hop: a top passage names its document


class DocumentRecord(BaseModel):
    """A document as the store holds it: the version readers see."""

    source: str = Field(description="Path relative to the corpus root.")
    title: str = Field(description="Document title.")
    content_hash: str = Field(description="SHA-256 of the file's bytes.")
    chunks: int = Field(description="Chunks stored for this version.")
    ingested_at: str = Field(description="When this version was stored (UTC, ISO 8601).")
    previous_hash: str | None = Field(
        None, description="The version this one replaced; readers caught mid-switch may still see it."
    )


class Turn(BaseModel):
    role: Literal["user", "assistant"] = Field(description="Who said it.")
    content: str = Field(description="What was said.")


class PassageView(BaseModel):
    """A retrieved passage as the API shows it."""

    source: str = Field(description="Document path relative to the corpus root.")
    title: str = Field(description="Document title.")
    text: str = Field(description="The passage, verbatim.")
    score: float = Field(
        description="Relevance of the passage's best sentence to the question, 0..1, on the same scale "
        "for every question (it feeds the decision to abstain). Passages come in retrieval rank order "
        "(dense and BM25 fused, then re-ranked), which this score alone does not decide."
    )
    chunk_id: str = Field(description="Stable id of the chunk in the store.")
    start_char: int = Field(description="Offset of the passage's first character in the source.")
    end_char: int = Field(description="Offset just past the passage's last character.")
    page: int | None = Field(
        None, description="Page of the passage (of its quoted or best sentence), for PDFs."
    )
    section: str | None = Field(None, description="The Markdown heading in force where the passage starts.")

    @staticmethod
    def fields_of(passage: Passage) -> dict[str, object]:
        c = passage.chunk
        return {
            "source": c.source,
            "title": c.title,
            "text": c.text,
            "score": round(passage.score, 4),
            "chunk_id": c.id,
            "start_char": c.start_char,
            "end_char": c.end_char,
            "page": c.page,
            "section": c.section,
        }


class Span(BaseModel):
    """A stretch of a citation's text: offsets are within the citation's `text`."""

    start: int = Field(description="Offset of the first character within the citation's text.")
    end: int = Field(description="Offset just past the last character within the citation's text.")
    text: str = Field(description="The characters between start and end, verbatim.")


class Citation(PassageView):
    """A cited passage; `page` and `section` are those of the first sentence the answer quotes from it."""

    id: int = Field(description="The number used as [n] in the answer.")
    sentences: list[Span] = Field(
        default_factory=list, description="The sentences of this passage that the answer quotes."
    )
    quote: Span | None = Field(
        None, description="The exact answer within the passage (e.g. a date or a name), when it was found."
    )

    @classmethod
    def of(cls, number: int, passage: Passage, sentences: list[Span], quote: Span | None = None) -> Citation:
        """A passage cited under a number; its page and section are where the first sentence the
        answer quotes from it is (the lead, when it is from this passage), wherever it sits in the chunk."""
        fields = cls.fields_of(passage)
        if sentences:
            first = sentences[0].start
            fields |= {"page": passage.chunk.page_at(first), "section": passage.chunk.section_at(first)}
        return cls(id=number, sentences=sentences, quote=quote, **fields)


class Answer(BaseModel):
    answer: str = Field(description="The answer; claims carry [n] markers naming citations.")
    citations: list[Citation] = Field(description="The passages the answer cites, each used.")
    abstained: bool = Field(description="True when the documents hold nothing relevant enough.")
    answerer: str = Field("extractive", description='Which answerer wrote it: "extractive" or "llm".')
    notice: str | None = Field(
        None, description="Set when the LLM failed and the extractive answer stands in."
    )


class SearchHit(PassageView):
    """A ranked passage; `page` and `section` are those of its best sentence, as a citation's are."""

    rank: int = Field(description="1 for the best passage.")

    @classmethod
    def from_passage(cls, rank: int, passage: Passage) -> SearchHit:
        fields = cls.fields_of(passage)
        if passage.sentences:
            best = passage.sentences[0].start  # sentences come best first
            fields |= {"page": passage.chunk.page_at(best), "section": passage.chunk.section_at(best)}
        return cls(rank=rank, **fields)
