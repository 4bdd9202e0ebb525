"""File bytes → text, per format, with well-kept parsers (pypdf, python-docx, BeautifulSoup)."""

from __future__ import annotations

import codecs
import io
import logging
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from charset_normalizer import from_bytes

from rag.errors import DocumentTooLarge, UnreadableDocument
from rag.models import PAGE_SEPARATOR
from rag.settings import Settings
from rag.titles import markdown_title, metadata_title

# pypdf warns of the damage it works around ("EOF marker not found") without naming the file; a PDF it
# cannot read fails with a reason of ours that does, so its warnings only confuse an ingestion's report.
logging.getLogger("pypdf").setLevel(logging.ERROR)

if TYPE_CHECKING:
    from pypdf import PdfReader

# Share of control characters above which "text" is really binary.
_MAX_CONTROL_SHARE = 0.05
_WESTERN = ("cp1252", "latin_1", "iso8859_15")
# Byte-order marks, longest first: a UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# A Word file's XML is a few times longer than its text, plus styles and settings of a few hundred
# KB; far more than this is a decompression bomb.
_DOCX_XML_PER_CHAR = 10
_DOCX_XML_BASE = 5_000_000
# Pages read between drops of pypdf's cache of parsed objects.
_PDF_PAGES_CACHED = 100


@dataclass(frozen=True)
class ReadLimits:
    """How far one file may expand when read, and how long reading it may take."""

    max_chars: int = Settings.model_fields["max_document_chars"].default
    max_pages: int = Settings.model_fields["max_document_pages"].default
    max_seconds: float = Settings.model_fields["max_read_seconds"].default


class ReadBudget:
    """The limits of one file's read, spent as text comes out; DocumentTooLarge once one is passed.

    The clock runs only while the file is being parsed: a file read page by page is paused while
    the pages already read are embedded, so only its parsing counts against MAX_READ_SECONDS."""

    def __init__(self, limits: ReadLimits) -> None:
        self.limits = limits
        self.chars = 0
        self._spent = 0.0  # seconds of parsing before the current stretch
        self._since: float | None = time.monotonic()  # start of the current stretch; None while paused

    @property
    def seconds(self) -> float:
        """Seconds spent parsing so far."""
        running = time.monotonic() - self._since if self._since is not None else 0.0
        return self._spent + running

    def pause(self) -> None:
        """Stop the clock while the caller works on what was read."""
        self._spent, self._since = self.seconds, None

    def resume(self) -> None:
        """Start the clock again as parsing goes on."""
        if self._since is None:
            self._since = time.monotonic()

    def spend(self, chars: int) -> None:
        """Count extracted text, and check the clock."""
        self.chars += chars
        if self.chars > self.limits.max_chars:
            raise DocumentTooLarge(
                f"the text is over {self.limits.max_chars:,} characters (MAX_DOCUMENT_CHARS)"
            )
        if self.seconds > self.limits.max_seconds:
            raise DocumentTooLarge(f"reading took over {self.limits.max_seconds:g} s (MAX_READ_SECONDS)")


@dataclass(frozen=True)
class ParsedFile:
    """The text of a file, its own title if it has one, and page start offsets for paged formats."""

    text: str
    title: str | None = None
    page_starts: tuple[int, ...] = ()
    note: str | None = None  # something the operator should know, e.g. the encoding guessed


@dataclass(frozen=True)
class PagedFile:
    """A paged file opened for reading: its title, its page count, and its pages' text, read one at
    a time as the iterator is consumed (only the page being read is held)."""

    title: str | None
    page_count: int
    pages: Iterator[str]


def decode_text(raw: bytes) -> tuple[str, str | None]:
    """Bytes → str: by byte-order mark, else UTF-8 if valid, else the detected encoding (and a note
    saying so); binary refused."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return _refuse_binary(raw.decode(encoding)), None
            except UnicodeDecodeError as exc:
                raise UnreadableDocument(f"a {encoding} byte-order mark, but not {encoding} text") from exc
    if b"\x00" in raw:
        raise UnreadableDocument("binary content (NUL bytes) in a text file")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    matches = list(from_bytes(raw))
    if not matches:
        raise UnreadableDocument("binary content: no text encoding fits")
    # Short texts fit several code pages about equally well; among near-ties, prefer the
    # Western ones that most non-UTF-8 files in the wild use.
    best = min(matches, key=lambda m: (round(m.chaos, 1), m.encoding not in _WESTERN, -m.coherence))
    return _refuse_binary(str(best)), f"not valid UTF-8; decoded as {best.encoding}"


def _refuse_binary(text: str) -> str:
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    if controls > _MAX_CONTROL_SHARE * max(1, len(text)):
        raise UnreadableDocument("binary content: too many control characters")
    return text


def read_text(raw: bytes, budget: ReadBudget) -> ParsedFile:
    text, note = decode_text(raw)
    budget.spend(len(text))
    return ParsedFile(text=text, note=note)


def read_markdown(raw: bytes, budget: ReadBudget) -> ParsedFile:
    parsed = read_text(raw, budget)
    return ParsedFile(text=parsed.text, title=markdown_title(parsed.text), note=parsed.note)


def read_html(raw: bytes, budget: ReadBudget) -> ParsedFile:
    from bs4 import BeautifulSoup

    text, note = decode_text(raw)
    budget.spend(0)
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer"]):
        tag.decompose()
    title = metadata_title(soup.title.get_text(" ", strip=True)) if soup.title else None
    if not title and soup.h1:
        title = metadata_title(soup.h1.get_text(" ", strip=True))
    if soup.title:
        soup.title.decompose()
    body = soup.body or soup
    lines = [line.strip() for line in body.get_text("\n").splitlines()]
    paragraphs = "\n\n".join(line for line in lines if line)
    budget.spend(len(paragraphs))
    return ParsedFile(text=paragraphs, title=title, note=note)


def open_pdf(raw: bytes, budget: ReadBudget) -> PagedFile:
    """Open a PDF and check its page count; its pages are extracted lazily, page by page."""
    from pypdf import PdfReader

    if b"%PDF-" not in raw[:1024]:  # the header may follow some junk, within the first kilobyte
        raise UnreadableDocument("not a PDF: no %PDF- header in its first kilobyte (renamed or damaged?)")
    with _pdf_errors():
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise UnreadableDocument("encrypted PDF")
        count = len(reader.pages)
        if count > budget.limits.max_pages:
            raise DocumentTooLarge(
                f"{count:,} pages; the limit is {budget.limits.max_pages:,} (MAX_DOCUMENT_PAGES)"
            )
        title = metadata_title(reader.metadata.title if reader.metadata else None)
    budget.pause()
    return PagedFile(title=title, page_count=count, pages=_pdf_pages(reader, count, budget))


def _pdf_pages(reader: PdfReader, count: int, budget: ReadBudget) -> Iterator[str]:
    for index in range(count):
        budget.resume()
        with _pdf_errors():
            text = (reader.pages[index].extract_text() or "").strip()
        if index % _PDF_PAGES_CACHED == _PDF_PAGES_CACHED - 1:
            # pypdf keeps every object it has parsed (content streams, fonts) for the reader's life;
            # dropping them now and then keeps a long PDF's memory flat (shared ones are parsed again).
            reader.resolved_objects.clear()
        budget.spend(len(text))
        budget.pause()  # the caller's work on this page (chunking, embedding) is not reading time
        yield text


@contextmanager
def _pdf_errors() -> Iterator[None]:
    """pypdf's failures as UnreadableDocument (DocumentTooLarge for its own size guard)."""
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        yield
    except UnreadableDocument:
        raise
    except LimitReachedError as exc:  # pypdf's own guard against streams that inflate too far
        raise DocumentTooLarge(f"PDF stream too large to read: {exc}") from exc
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableDocument(f"corrupt PDF: {exc}") from exc


def read_pdf(raw: bytes, budget: ReadBudget) -> ParsedFile:
    """A whole PDF's text, pages separated by a blank line, with each page's start offset."""
    opened = open_pdf(raw, budget)
    return joined_pages(opened.pages, opened.title)


def joined_pages(pages: Iterable[str], title: str | None = None) -> ParsedFile:
    """Pages' text as one, separated by a blank line, with each page's start offset."""
    starts, parts, offset = [], [], 0
    for page in pages:
        starts.append(offset)
        parts.append(page)
        offset += len(page) + len(PAGE_SEPARATOR)
    return ParsedFile(text=PAGE_SEPARATOR.join(parts), title=title, page_starts=tuple(starts))


def read_docx(raw: bytes, budget: ReadBudget) -> ParsedFile:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        # Zip sizes are declared up front, and the zip reader never inflates a part past its own.
        with zipfile.ZipFile(io.BytesIO(raw)) as package:
            xml_bytes = sum(i.file_size for i in package.infolist() if i.filename.endswith(".xml"))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnreadableDocument(f"corrupt Word file: {exc}") from exc
    if xml_bytes > _DOCX_XML_BASE + _DOCX_XML_PER_CHAR * budget.limits.max_chars:
        raise DocumentTooLarge(
            f"expands to {xml_bytes:,} bytes of XML, far more than {budget.limits.max_chars:,} "
            "characters of text can need (MAX_DOCUMENT_CHARS)"
        )
    try:
        document = docx.Document(io.BytesIO(raw))
    except (PackageNotFoundError, ValueError, KeyError) as exc:
        raise UnreadableDocument(f"corrupt Word file: {exc}") from exc
    except Exception as exc:  # zipfile and lxml raise their own types for damaged files
        raise UnreadableDocument(f"corrupt Word file: {exc}") from exc
    paragraphs = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        budget.spend(len(text))  # checks the clock too, even over runs of empty paragraphs
        if text:
            paragraphs.append((paragraph, text))
    title = metadata_title(document.core_properties.title) or next(
        (text for p, text in paragraphs if p.style is not None and p.style.name in ("Title", "Heading 1")),
        None,
    )
    return ParsedFile(text="\n\n".join(text for _, text in paragraphs), title=metadata_title(title))


READERS: dict[str, Callable[[bytes, ReadBudget], ParsedFile]] = {
    ".txt": read_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
}
# Formats read page by page as ingestion goes, so a long one is never held whole.
PAGED_READERS: dict[str, Callable[[bytes, ReadBudget], PagedFile]] = {".pdf": open_pdf}
