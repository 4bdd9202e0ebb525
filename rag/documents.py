"""Files → documents: find the readable files under a folder and read each with its title and hash."""

from __future__ import annotations

import hashlib
import re
import string
from pathlib import Path

from rag.errors import CorpusNotFound, EmptyCorpus
from rag.models import Document

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
_MAX_TITLE_CHARS = 120


def find_files(root: Path) -> list[Path]:
    """Supported files under root (or root itself), sorted; an error when there are none."""
    if not root.exists():
        raise CorpusNotFound(f"path does not exist: {root}")
    if root.is_file():
        files = [root] if root.suffix.lower() in SUPPORTED_SUFFIXES else []
    else:
        files = sorted(
            p
            for p in root.rglob("*")
            if p.is_file()
            and p.suffix.lower() in SUPPORTED_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )
    if not files:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise EmptyCorpus(f"no documents ({kinds}) under {root}")
    return files


def source_name(path: Path, root: Path) -> str:
    """The path as stored and cited: relative to the corpus root, with forward slashes."""
    base = root.parent if root.is_file() else root
    return path.resolve().relative_to(base.resolve()).as_posix()


def read_document(path: Path, root: Path) -> Document:
    """Read one file; undecodable bytes are replaced rather than failing the whole run."""
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    return Document(
        source=source_name(path, root),
        title=extract_title(text, path),
        text=text,
        content_hash=hashlib.sha256(raw).hexdigest(),
    )


def extract_title(text: str, path: Path) -> str:
    """A Markdown heading, else a short first line set apart by a blank line, else the file name."""
    if path.suffix.lower() in {".md", ".markdown"}:
        heading = re.search(r"^#{1,2}\s+(.+?)\s*#*\s*$", text, flags=re.MULTILINE)
        if heading:
            return heading.group(1).strip()
    lines = text.lstrip().splitlines()
    if len(lines) >= 2 and not lines[1].strip():
        first = lines[0].strip()
        if 0 < len(first) <= _MAX_TITLE_CHARS and not first.endswith((".", ",", ";", ":")):
            return first
    return string.capwords(path.stem.replace("-", " ").replace("_", " ")) or path.name
