"""File bytes → text, per format, with well-kept parsers (pypdf, python-docx, BeautifulSoup)."""

from __future__ import annotations

import codecs
import io
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from charset_normalizer import from_bytes

from rag.errors import DocumentTooLarge, UnreadableDocument
from rag.settings import Settings
from rag.titles import markdown_title, metadata_title

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


@dataclass(frozen=True)
class ReadLimits:
    """How far one file may expand when read, and how long reading it may take."""

    max_chars: int = Settings.model_fields["max_document_chars"].default
    max_pages: int = Settings.model_fields["max_document_pages"].default
    max_seconds: float = Settings.model_fields["max_read_seconds"].default


class ReadBudget:
    """The limits of one file's read, spent as text comes out; DocumentTooLarge once one is passed."""

    def __init__(self, limits: ReadLimits) -> None:
        self.limits = limits
        self.chars = 0
        self._deadline = time.monotonic() + limits.max_seconds

    def spend(self, chars: int) -> None:
        """Count extracted text, and check the clock."""
        self.chars += chars
        if self.chars > self.limits.max_chars:
            raise DocumentTooLarge(
                f"the text is over {self.limits.max_chars:,} characters (MAX_DOCUMENT_CHARS)"
            )
        if time.monotonic() > self._deadline:
            raise DocumentTooLarge(f"reading took over {self.limits.max_seconds:g} s (MAX_READ_SECONDS)")


@dataclass(frozen=True)
class ParsedFile:
    """The text of a file, its own title if it has one, and page start offsets for paged formats."""

    text: str
    title: str | None = None
    page_starts: tuple[int, ...] = ()
    note: str | None = None  # something the operator should know, e.g. the encoding guessed


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


def read_pdf(raw: bytes, budget: ReadBudget) -> ParsedFile:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise UnreadableDocument("encrypted PDF")
        if len(reader.pages) > budget.limits.max_pages:
            raise DocumentTooLarge(
                f"{len(reader.pages):,} pages; the limit is {budget.limits.max_pages:,} (MAX_DOCUMENT_PAGES)"
            )
        pages = []
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            budget.spend(len(pages[-1]))
        title = metadata_title(reader.metadata.title if reader.metadata else None)
    except UnreadableDocument:
        raise
    except LimitReachedError as exc:  # pypdf's own guard against streams that inflate too far
        raise DocumentTooLarge(f"PDF stream too large to read: {exc}") from exc
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableDocument(f"corrupt PDF: {exc}") from exc
    starts, parts, offset = [], [], 0
    for page in pages:
        starts.append(offset)
        parts.append(page.strip())
        offset += len(parts[-1]) + 2
    return ParsedFile(text="\n\n".join(parts), title=title, page_starts=tuple(starts))


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
