"""A document's title: from its own metadata, else a first line that reads as a title, else its file name."""

from __future__ import annotations

import re
import string
from pathlib import Path

from rag.chunking import split_sentences

MAX_TITLE_CHARS = 300  # the longest SciFact paper title is 300 characters
_MAX_TITLE_WORDS = 40
_MAX_TITLE_SENTENCES = 2  # "Evidence into practice. Application of psychological models of change."
# A line of a hard-wrapped paragraph is about as long as the next; a title is clearly shorter.
_WRAPPED_LINE_CHARS = 100
_WRAPPED_SHARE = 0.75
_CONTINUES = (",", ";", ":", "-", "–", "—", "(", "/", "&")
_ENDS_SENTENCE = (".", "!", "?")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_MATTER_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_ATX_HEADING = re.compile(r"^(#{1,2})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
# What authoring tools leave in a PDF's /Title when nobody set one.
_PLACEHOLDER = re.compile(
    r"(untitled.*|title|document\d*|slide \d+|microsoft (word|powerpoint) - .*"
    r"|.*\.(docx?|pdf|tex|dvi|odt|rtf|pptx?|indd|qxd))",
    re.IGNORECASE,
)


def metadata_title(value: str | None) -> str | None:
    """A title set in a file's metadata, or None when it is empty or a tool's placeholder."""
    title = " ".join((value or "").split())
    if not title or _PLACEHOLDER.fullmatch(title) or not any(ch.isalpha() for ch in title):
        return None
    return title[:MAX_TITLE_CHARS]


def markdown_title(text: str) -> str | None:
    """The `title:` of YAML front matter, else the first `#` heading (else `##`), outside code blocks."""
    front = _FRONT_MATTER.match(text)
    if front and (found := _FRONT_MATTER_TITLE.search(front.group(1))):
        return metadata_title(found.group(1).strip("'\""))
    headings = _ATX_HEADING.findall(_FENCE.sub("", text))
    for level in ("#", "##"):
        for marks, heading in headings:
            if marks == level and (title := metadata_title(heading)):
                return title
    return None


def first_line_title(text: str) -> str | None:
    """The first line when it reads as a title over the text below it: short-ish, at most two
    sentences, ending like a title or a sentence, shorter than what follows, and not the first line
    of a hard-wrapped paragraph."""
    lines = text.strip().split("\n")
    first = " ".join(lines[0].split())
    body = "\n".join(lines[1:]).strip()
    if not body or not first or len(first) > MAX_TITLE_CHARS or len(first.split()) > _MAX_TITLE_WORDS:
        return None
    if not any(ch.isalpha() for ch in first) or first.endswith(_CONTINUES):
        return None
    if first.endswith(_ENDS_SENTENCE) and len(body) < 2 * len(first):
        return None  # a sentence over less text than itself is a paragraph, not a heading
    next_line = lines[1].strip()
    if next_line:  # no blank line between: the first line must not simply run on into the next
        if next_line[0].islower() and not first.endswith(_ENDS_SENTENCE):
            return None
        if len(next_line) <= _WRAPPED_LINE_CHARS and len(first) >= _WRAPPED_SHARE * len(next_line):
            return None
    if _sentence_count(first) > _MAX_TITLE_SENTENCES:
        return None
    return first


def file_name_title(path: Path) -> str:
    """The file name as a title: "my-notes_2024.txt" → "My Notes 2024"."""
    return string.capwords(path.stem.replace("-", " ").replace("_", " ")) or path.name


def _sentence_count(line: str) -> int:
    return len(split_sentences(line))
