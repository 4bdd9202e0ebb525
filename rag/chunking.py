"""Documents → chunks: token-bounded, overlapping, split on sentence boundaries where possible."""

from __future__ import annotations

import hashlib
import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache


def _import_nltk_alone() -> None:
    """Import nltk (for Punkt) without the scikit-learn, scipy, pandas and pyarrow that its package
    init pulls in for classifiers never used here: 190 MB more resident memory in every process."""
    if "nltk" in sys.modules:
        return
    blocked = [name for name in ("sklearn", "scipy", "pandas", "pyarrow") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # an ImportError, which nltk tolerates
    try:
        import nltk  # noqa: F401
    finally:
        for name in blocked:
            del sys.modules[name]


_import_nltk_alone()

from llama_index.core import Document as LlamaDocument  # noqa: E402
from llama_index.core.node_parser import SentenceSplitter  # noqa: E402
from llama_index.core.utils import get_tokenizer, globals_helper  # noqa: E402

from rag.models import HEADING, PAGE_SEPARATOR, Chunk, Document, DocumentStream  # noqa: E402

# Text chunked at a time: a long document is split a window at a time, so its whole text is never held.
WINDOW_CHARS = 100_000


def chunk_document(document: Document, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split a document into chunks whose offsets point back into its text."""
    return list(chunk_stream(as_stream(document), chunk_size, chunk_overlap))


def as_stream(document: Document) -> DocumentStream:
    """A document read whole, as the pages it was read from."""
    text, starts = document.text, document.page_starts
    ends = [s - len(PAGE_SEPARATOR) for s in starts[1:]] + [len(text)]
    pages = [text[s:e] for s, e in zip(starts, ends, strict=True)] if starts else [text]
    return DocumentStream(document.source, document.title, document.content_hash, pages, paged=bool(starts))


def chunk_stream(document: DocumentStream, chunk_size: int, chunk_overlap: int) -> Iterator[Chunk]:
    """Chunks of a document as its pages are read, a window of text at a time; offsets and pages are
    the document's. The last chunk of a window may be cut short by the window's end, so it is chunked
    again with the text that follows."""
    splitter = SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 2),
        tokenizer=get_tokenizer(),
        paragraph_separator="\n\n",
    )
    window = _Window(document)
    for number, page in enumerate(document.pages):
        window.add(page, first=number == 0)
        if window.size >= WINDOW_CHARS:
            yield from window.chunks(splitter, final=False)
    yield from window.chunks(splitter, final=True)


class _Window:
    """The document's text not yet chunked for good, with where it starts and the pages so far."""

    def __init__(self, document: DocumentStream) -> None:
        self.document = document
        self.parts: list[str] = []
        self.size = 0
        self.start = 0  # offset of the window in the document's text
        self.page_starts: list[int] = []  # offsets of every page so far
        self.section: str | None = None  # the heading in force where the window starts
        self.index = 0  # of the next chunk

    def add(self, page: str, first: bool) -> None:
        text = page if first else PAGE_SEPARATOR + page
        if self.document.paged:
            self.page_starts.append(self.start + self.size + len(text) - len(page))
        self.parts.append(text)
        self.size += len(text)

    def chunks(self, splitter: SentenceSplitter, final: bool) -> Iterator[Chunk]:
        text = "".join(self.parts)
        spans = _spans(splitter, text)
        if not final:
            if len(spans) < 2:
                return  # one chunk so far: wait for more text
            keep = spans.pop()[0]
        for start, piece in spans:
            yield self._chunk(text, start, piece)
        if final:
            self.parts, self.size = [], 0
            return
        self.section = section_before(text, keep) or self.section
        self.parts, self.size = [text[keep:]], len(text) - keep
        self.start += keep

    def _chunk(self, window: str, start: int, text: str) -> Chunk:
        document, offset = self.document, self.start + start
        end = offset + len(text)
        first, last = bisect_right(self.page_starts, offset), bisect_left(self.page_starts, end)
        chunk = Chunk(
            id=chunk_id(document, self.index),
            source=document.source,
            title=document.title,
            content_hash=document.content_hash,
            index=self.index,
            start_char=offset,
            end_char=end,
            text=text,
            page=(first or 1) if document.paged else None,
            page_starts=tuple(p - offset for p in self.page_starts[first:last]),
            section=section_before(window, start) or self.section,
        )
        self.index += 1
        return chunk


def _spans(splitter: SentenceSplitter, text: str) -> list[tuple[int, str]]:
    """The splitter's chunks of a text, with their offsets in it; blank ones left out."""
    spans = []
    search_from = 0
    for node in splitter.get_nodes_from_documents([LlamaDocument(text=text)]):
        piece = node.get_content()
        start = text.find(piece, search_from)
        if start < 0:  # the splitter normalised whitespace; fall back to its own offset
            start = node.start_char_idx or 0
        search_from = start + 1
        if piece.strip():
            spans.append((start, piece))
    return spans


def section_before(text: str, offset: int) -> str | None:
    """The last Markdown heading that starts before an offset, if any."""
    headings = HEADING.findall(text[:offset])
    return headings[-1].strip() if headings else None


def chunk_id(document: Document | DocumentStream, index: int) -> str:
    """Stable id: the same file content always yields the same ids, so re-ingestion never duplicates."""
    source_key = hashlib.sha1(document.source.encode()).hexdigest()[:12]
    return f"{source_key}-{document.content_hash[:12]}-{index:05d}"


@dataclass(frozen=True)
class Sentence:
    """A sentence of a chunk; offsets are within the chunk's text."""

    start: int
    end: int
    text: str


@lru_cache(maxsize=1)
def _punkt() -> object:
    """English Punkt, which knows abbreviations such as "Mr." and "U.S."; llama-index ships its data."""
    from nltk.tokenize import PunktTokenizer

    globals_helper.wait_for_nltk_check()  # points nltk at llama-index's bundled data
    return PunktTokenizer("english")


_IMAGE = re.compile(r"!\[")
_LINE_BREAKS = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)")
# A table row, or a "Label: value" line ("Check-in: from 4 pm"), holds a fact of its own: lines of them
# never end with a full stop, so without breaks of their own they run together into one "sentence".
_FACT_LINE = re.compile(
    r"^[ \t]*(?:\|.*\||(?:(?:[-*•+]|\d{1,3}[.)])[ \t]+)?"  # a list item may be a "Label: value" line
    r"[A-Z][\w'’()/&.-]*(?:[ \t]+[\w'’()/&.-]+){0,3}:[ \t]+\S.*?)[ \t]*$",
    re.MULTILINE,
)
_NEWLINE = re.compile(r"\n")
_STARTS_A_LINE = re.compile(r"[ \t]*[A-Z0-9|#>*•-]")


_LINE_END = re.compile(r"\n(?=[ \t]*[A-Z])")
_HEADING_LINE = re.compile(r"[ \t]*[A-Z0-9][^\n]*")


_JOINING = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "nor",
        "of",
        "in",
        "on",
        "at",
        "to",
        "by",
        "for",
        "from",
        "with",
        "into",
        "onto",
        "than",
        "that",
        "which",
        "who",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "its",
        "their",
        "his",
        "her",
        "our",
        "your",
        "my",
        "this",
        "these",
        "those",
    ]
)


def _after_heading_lines(text: str) -> list[re.Match[str]]:
    """Line ends that close a heading: a short line without a full stop, capitalised at both ends or
    standing right after a sentence's end, followed by a capitalised line (PDFs and plain text put
    headings right above their paragraph)."""
    found = []
    for match in _LINE_END.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        line = text[line_start : match.start()].strip()
        before = text[: max(0, line_start - 1)].rstrip(" \t")
        previous = before[before.rfind("\n") + 1 :].strip()
        words = line.split()
        # A heading in sentence case ("Climbing the tower") is told from a wrapped line of prose by
        # where it sits: right after a sentence has ended, or after a blank line.
        # (A wrapped line that breaks after "in", "the" or "and" is prose, whatever its length.)
        after_a_sentence = (
            bool(words)
            and (not previous or previous.endswith((".", "!", "?", ":")))
            and words[-1].lower() not in _JOINING
        )
        if (
            words
            and len(words) <= 8
            and _HEADING_LINE.fullmatch(line)
            and (words[-1][:1].isupper() or (len(words) <= 6 and after_a_sentence))
            and not line.endswith((".", "!", "?", ":", ";", ","))
        ):
            found.append(match)
    return found


def is_fact_line(line: str) -> bool:
    """Whether a line is a table row or a "Label: value" line: a fact of its own, not a heading."""
    return _FACT_LINE.fullmatch(line) is not None


def _fact_line_breaks(text: str) -> list[re.Match[str]]:
    """The line breaks before and after table rows and "Label: value" lines; after one only when the next
    line starts anew (a capital, a digit, a mark), so that a wrapped line of prose stays whole."""
    found = []
    for line in _FACT_LINE.finditer(text):
        before = _NEWLINE.match(text, line.start() - 1) if line.start() else None
        after = _NEWLINE.match(text, line.end())
        words = line.group().split()
        if after and (words[-1].lower() in _JOINING or not _STARTS_A_LINE.match(text, after.end())):
            after = None
        found += [m for m in (before, after) if m]
    return found


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of a text with offsets, breaking at paragraphs and list items as well as full stops."""
    sentences: list[Sentence] = []
    block_start = 0
    breaks = sorted(
        [*_LINE_BREAKS.finditer(text), *_after_heading_lines(text), *_fact_line_breaks(text)],
        key=lambda m: m.start(),
    )
    for match in [*breaks, None]:
        block_end = match.start() if match else len(text)
        if block_end < block_start:
            continue
        block = text[block_start:block_end]
        # Punkt ends a sentence at "!", also at the one that opens Markdown image syntax; the masked
        # copy has the same length, so its spans still index the block.
        for s, e in _punkt().span_tokenize(_IMAGE.sub(" [", block)):
            piece = block[s:e].strip()
            if len(piece) > 1:
                offset = block_start + s + (len(block[s:e]) - len(block[s:e].lstrip()))
                sentences.append(Sentence(offset, offset + len(piece), piece))
        if match:
            block_start = match.end()
    return sentences
