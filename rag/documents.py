"""Files → documents: find the readable files under a folder and read each with its title and hash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from rag.errors import CorpusNotFound, EmptyCorpus, FileTooLarge, UnreadableDocument
from rag.models import Document, DocumentStream
from rag.readers import PAGED_READERS, READERS, ReadBudget, ReadLimits, joined_pages
from rag.titles import file_name_title, first_line_title

SUPPORTED_SUFFIXES = frozenset(READERS)
_MAX_NAME_BYTES = 255  # the usual file system limit for one path component
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def file_name_problem(name: str) -> str | None:
    """Why a file name cannot be stored and later named in a URL (control characters, too long), if so."""
    if _CONTROL.search(name):
        return "it contains control characters (NUL, newline, ...)"
    if len(name.encode("utf-8", "surrogateescape")) > _MAX_NAME_BYTES:
        return f"it is over {_MAX_NAME_BYTES} bytes long"
    return None


@dataclass
class Scan:
    """What a folder holds: files to read, files skipped (unsupported) and refused (unsafe)."""

    files: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


def scan(root: Path) -> Scan:
    """Supported files under root (or root itself), sorted; an error when there are none at all."""
    if not root.exists():
        raise CorpusNotFound(f"path does not exist: {root}")
    base = (root.parent if root.is_file() else root).resolve()
    candidates = [root] if root.is_file() else sorted(root.rglob("*"))
    found = Scan()
    for path in candidates:
        if not root.is_file() and any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        name = path.relative_to(root).as_posix() if not root.is_file() else path.name
        if path.is_symlink() and not path.resolve().is_relative_to(base):
            found.refused[name] = "symlink pointing outside the corpus"
        elif problem := file_name_problem(path.name):
            found.refused[name] = f"unusable file name: {problem}"
        elif not path.is_file():
            continue
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            found.skipped[name] = f"unsupported file type {path.suffix or '(none)'}"
        else:
            found.files.append(path)
    if not found.files and not found.refused:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise EmptyCorpus(f"no documents ({kinds}) under {root}")
    return found


def source_name(path: Path, root: Path) -> str:
    """The path as stored and cited: relative to the corpus root, with forward slashes."""
    base = root.parent if root.is_file() else root
    return path.relative_to(base).as_posix()


def file_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def read_document(path: Path, root: Path, max_bytes: int, limits: ReadLimits | None = None) -> Document:
    """Read and parse one whole file within the limits; UnreadableDocument says why when it cannot be used."""
    opened = open_document(path, root, max_bytes, limits)
    parsed = joined_pages(opened.pages)
    return Document(
        source=opened.source,
        title=opened.title,
        text=parsed.text,
        content_hash=opened.content_hash,
        page_starts=parsed.page_starts if opened.paged else (),
        note=opened.note,
    )


def open_document(path: Path, root: Path, max_bytes: int, limits: ReadLimits | None = None) -> DocumentStream:
    """Open one file within the limits, to be read page by page (PDFs) or whole (other formats);
    UnreadableDocument says why when it cannot be used, now or as its pages are read."""
    size = path.stat().st_size
    if size > max_bytes:
        raise FileTooLarge(f"file is {size:,} bytes; the limit is {max_bytes:,} (MAX_FILE_BYTES)")
    raw = path.read_bytes()
    if not raw.strip():
        raise UnreadableDocument("empty file")
    budget = ReadBudget(limits or ReadLimits())
    suffix = path.suffix.lower()
    with _reader_errors():
        if suffix in PAGED_READERS:
            paged = PAGED_READERS[suffix](raw, budget)
            title, note, count, pages = paged.title, None, paged.page_count, paged.pages
        else:
            parsed = READERS[suffix](raw, budget)
            title, note, count, pages = parsed.title, parsed.note, None, iter([parsed.text])
    pages = _guarded(pages)
    # The title may come from the first line of text, so pages are read up to the first with any.
    leading = []
    for page in pages:
        leading.append(page)
        if page.strip():
            break
    else:
        raise UnreadableDocument("no text could be extracted")
    return DocumentStream(
        source=source_name(path, root),
        title=title or extract_title(leading[-1], path),
        content_hash=file_hash(raw),
        pages=chain(leading, pages),
        paged=count is not None,
        page_count=count,
        note=note,
    )


@contextmanager
def _reader_errors() -> Iterator[None]:
    try:
        yield
    except UnreadableDocument:
        raise
    except Exception as exc:  # a parser's own failure on one file must never stop a whole run
        raise UnreadableDocument(f"cannot read this file: {type(exc).__name__}: {exc}") from exc


def _guarded(pages: Iterator[str]) -> Iterator[str]:
    """Pages as they are read, a parser's failure on one becoming UnreadableDocument."""
    while True:
        with _reader_errors():
            page = next(pages, None)
        if page is None:
            return
        yield page


def extract_title(text: str, path: Path) -> str:
    """For a file without a title of its own: its first line when that reads as a title, else its name."""
    return first_line_title(text) or file_name_title(path)
