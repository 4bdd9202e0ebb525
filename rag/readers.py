"""File bytes → text, per format, with well-kept parsers (pypdf, python-docx, BeautifulSoup)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from charset_normalizer import from_bytes

from rag.errors import UnreadableDocument

# Share of control characters above which "text" is really binary.
_MAX_CONTROL_SHARE = 0.05
_WESTERN = ("cp1252", "latin_1", "iso8859_15")


@dataclass(frozen=True)
class ParsedFile:
    """The text of a file, its own title if it has one, and page start offsets for paged formats."""

    text: str
    title: str | None = None
    page_starts: tuple[int, ...] = ()
    note: str | None = None  # something the operator should know, e.g. the encoding guessed


def decode_text(raw: bytes) -> tuple[str, str | None]:
    """Bytes → str: UTF-8 if valid, else the detected encoding (and a note saying so); binary refused."""
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
    text = str(best)
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    if controls > _MAX_CONTROL_SHARE * max(1, len(text)):
        raise UnreadableDocument("binary content: too many control characters")
    return text, f"not valid UTF-8; decoded as {best.encoding}"


def read_text(raw: bytes) -> ParsedFile:
    text, note = decode_text(raw)
    return ParsedFile(text=text, note=note)


def read_html(raw: bytes) -> ParsedFile:
    from bs4 import BeautifulSoup

    text, note = decode_text(raw)
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else None
    if not title and soup.h1:
        title = soup.h1.get_text(" ", strip=True)
    if soup.title:
        soup.title.decompose()
    body = soup.body or soup
    lines = [line.strip() for line in body.get_text("\n").splitlines()]
    paragraphs = "\n\n".join(line for line in lines if line)
    return ParsedFile(text=paragraphs, title=title or None, note=note)


def read_pdf(raw: bytes) -> ParsedFile:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise UnreadableDocument("encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or None
    except UnreadableDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableDocument(f"corrupt PDF: {exc}") from exc
    starts, parts, offset = [], [], 0
    for page in pages:
        starts.append(offset)
        parts.append(page.strip())
        offset += len(parts[-1]) + 2
    return ParsedFile(text="\n\n".join(parts), title=title, page_starts=tuple(starts))


def read_docx(raw: bytes) -> ParsedFile:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(raw))
    except (PackageNotFoundError, ValueError, KeyError) as exc:
        raise UnreadableDocument(f"corrupt Word file: {exc}") from exc
    except Exception as exc:  # zipfile and lxml raise their own types for damaged files
        raise UnreadableDocument(f"corrupt Word file: {exc}") from exc
    paragraphs = [p for p in document.paragraphs if p.text.strip()]
    title = document.core_properties.title or next(
        (
            p.text.strip()
            for p in paragraphs
            if p.style is not None and p.style.name in ("Title", "Heading 1")
        ),
        None,
    )
    return ParsedFile(text="\n\n".join(p.text.strip() for p in paragraphs), title=title or None)


READERS: dict[str, Callable[[bytes], ParsedFile]] = {
    ".txt": read_text,
    ".md": read_text,
    ".markdown": read_text,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
}
