"""What the chat shows, as plain functions: answers and cited passages as escaped HTML, human wording.

Document text is always escaped and never goes through Markdown, so a document's links, images or
HTML stay text in the reader's browser."""

from __future__ import annotations

import html
import itertools
import re
from datetime import datetime
from typing import Any

EXCERPT_CONTEXT = 220  # characters of passage shown on each side of the quoted sentences
NOT_FOUND_HINT = (
    "Try rephrasing the question with words the documents would use, "
    "or upload the document that holds the answer on the Documents page."
)

STYLE = """<style>
.qa-answer { line-height: 1.6; white-space: pre-wrap; }
.qa-answer a.qa-ref { text-decoration: none; font-weight: 600; padding: 0 .1em; }
.qa-card { border: 1px solid rgba(128,128,128,.35); border-radius: .5rem; padding: .6rem .8rem;
           margin: .4rem 0; scroll-margin-top: 4rem; }
.qa-card:target { outline: 2px solid #f0b429; }
.qa-card .qa-label { font-weight: 600; }
.qa-card .qa-where { color: rgba(128,128,128,1); font-size: .85em; }
.qa-passage { white-space: pre-wrap; font-size: .92em; margin: .4rem 0 0 0; }
.qa-passage mark { background: #fff3b0; color: inherit; padding: 0 .1em; }
.qa-passage mark strong { background: #ffd54f; }
.qa-passage .qa-heading { font-weight: 600; }
.qa-card details summary { cursor: pointer; list-style: none; }
.qa-card details summary .qa-toggle { font-size: .85em; color: rgba(128,128,128,1); }
.qa-card details[open] summary .qa-passage { display: none; }
.qa-not-found { border-left: 4px solid #8c8c8c; background: rgba(140,140,140,.12);
                border-radius: .4rem; padding: .7rem .9rem; }
.qa-not-found .qa-title { font-weight: 600; }
.qa-searching { color: rgba(128,128,128,1); font-style: italic; }
</style>"""


MAX_EXAMPLE_QUESTIONS = 5  # one per document up to this: more buttons would push the chat input away
MARKDOWN_SUFFIXES = (".md", ".markdown")
# A Markdown heading line: its `#` marker (hidden in citation cards) and its words (shown in bold).
_HEADING = re.compile(r"^(#{1,6}[ \t]+)(.*?)[ \t#]*$", re.MULTILINE)
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def plain(text: str) -> str:
    """Text for a Streamlit label or message, with Markdown (links, images, emoji codes) escaped."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 document`, `2 documents`."""
    return f"{count:,} {word if count == 1 else words or word + 's'}"


def human_time(iso: str) -> str:
    """An ISO 8601 timestamp as `26 Nov 2026, 14:05 UTC`; the input itself when it does not parse."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return moment.strftime("%-d %b %Y, %H:%M") + (" UTC" if moment.utcoffset() is not None else "")


def human_size(size: int) -> str:
    """Bytes in the units people read: `50 MB`, `12 KB`."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return plural(size, "byte")


def passage_number(citation: dict[str, Any]) -> int | None:
    """The passage's position in its document, 1-based, from its chunk id's last part."""
    tail = str(citation.get("chunk_id", "")).rsplit("-", 1)[-1]
    return int(tail) + 1 if tail.isdigit() else None


def location(citation: dict[str, Any]) -> str:
    """Where the passage is, in words: page, section and position, so two passages of a file differ."""
    parts = [citation["source"]]
    if citation.get("page"):
        parts.append(f"page {citation['page']}")
    if citation.get("section"):
        parts.append(f"section “{citation['section']}”")
    if (number := passage_number(citation)) is not None:
        parts.append(f"passage {number}")
    return " · ".join(parts)


def anchor(prefix: str, number: int) -> str:
    return f"{prefix}-cite-{number}"


def answer_html(text: str, prefix: str, numbers: set[int]) -> str:
    """The answer as text, each `[n]` a link to its citation card below it."""

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in numbers:
            return match.group(0)
        return f'<a class="qa-ref" href="#{anchor(prefix, n)}" title="Show source {n}">[{n}]</a>'

    linked = re.sub(r"\[(\d+)\]", link, html.escape(text))
    return f'<div class="qa-answer">{linked}</div>'


def _spans(citation: dict[str, Any]) -> tuple[list[tuple[int, int]], tuple[int, int] | None]:
    size = len(citation["text"])
    sentences = [
        (max(0, s["start"]), min(size, s["end"]))
        for s in citation.get("sentences") or []
        if s["end"] > s["start"]
    ]
    quote = citation.get("quote")
    return sorted(sentences), ((quote["start"], quote["end"]) if quote else None)


def headings(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Markdown heading lines in text: the spans of their `#` markers (opening and closing), and of their
    words."""
    found = [m for m in _HEADING.finditer(text) if m.group(2)]
    markers = [span for m in found for span in (m.span(1), (m.end(2), m.end()))]
    return markers, [m.span(2) for m in found]


def marked(
    text: str,
    start: int,
    end: int,
    sentences: list[tuple[int, int]],
    quote: tuple[int, int] | None,
    markdown: bool = False,
) -> str:
    """text[start:end] escaped, the quoted sentences in <mark> and the exact answer in <strong>.

    With markdown, heading lines lose their `#` marker and show in bold; all other markup stays text."""
    hidden, titles = headings(text) if markdown else ([], [])
    cuts = {start, end}
    for a, b in [*sentences, *([quote] if quote else []), *hidden, *titles]:
        cuts |= {min(max(a, start), end), min(max(b, start), end)}
    ordered = sorted(cuts)
    out = []
    for a, b in itertools.pairwise(ordered):
        if any(s <= a and b <= e for s, e in hidden):
            continue
        piece = html.escape(text[a:b])
        if quote and quote[0] <= a and b <= quote[1]:
            piece = f"<strong>{piece}</strong>"
        if any(s <= a and b <= e for s, e in sentences) or (quote and quote[0] <= a and b <= quote[1]):
            piece = f"<mark>{piece}</mark>"
        if any(s <= a and b <= e for s, e in titles):
            piece = f'<span class="qa-heading">{piece}</span>'
        out.append(piece)
    return "".join(out)


def excerpt_bounds(
    text: str, sentences: list[tuple[int, int]], context: int = EXCERPT_CONTEXT
) -> tuple[int, int]:
    """The stretch around the quoted sentences worth showing at once, cut at spaces."""
    if not sentences:
        return 0, min(len(text), 2 * context)
    start = max(0, sentences[0][0] - context)
    end = min(len(text), sentences[-1][1] + context)
    if start > 0 and (space := text.find(" ", start, sentences[0][0])) >= 0:
        start = space + 1
    if end < len(text) and (space := text.rfind(" ", sentences[-1][1], end)) >= 0:
        end = space
    return start, end


def citation_html(citation: dict[str, Any], prefix: str) -> str:
    """A card for one cited passage: title, where it is, the quoted sentences highlighted in context."""
    text = citation["text"]
    sentences, quote = _spans(citation)
    markdown = str(citation.get("source", "")).lower().endswith(MARKDOWN_SUFFIXES)
    start, end = excerpt_bounds(text, sentences)
    excerpt = ("…" if start > 0 else "") + marked(text, start, end, sentences, quote, markdown)
    excerpt += "…" if end < len(text) else ""
    shown = f'<div class="qa-passage">{excerpt}</div>'
    if (start, end) != (0, len(text)):
        # Opening swaps the excerpt for the whole passage, so no sentence is shown twice.
        whole = marked(text, 0, len(text), sentences, quote, markdown)
        shown = (
            f'<details><summary>{shown}<span class="qa-toggle">Show the whole passage</span></summary>'
            f'<div class="qa-passage">{whole}</div></details>'
        )
    return (
        f'<div class="qa-card" id="{anchor(prefix, citation["id"])}">'
        f'<div class="qa-label">[{citation["id"]}] {html.escape(citation["title"])}</div>'
        f'<div class="qa-where">{html.escape(location(citation))}</div>{shown}</div>'
    )


def not_found_html(text: str) -> str:
    """The abstention, set apart from answers, with what to try next."""
    return (
        '<div class="qa-not-found" role="status"><div class="qa-title">Not in the documents</div>'
        f"<div>{html.escape(text)}</div><div><small>{html.escape(NOT_FOUND_HINT)}</small></div></div>"
    )


def example_questions(titles: list[str], limit: int = MAX_EXAMPLE_QUESTIONS) -> list[str]:
    """Questions to try, one per document title (duplicates once), up to limit."""
    templates = ("What does “{}” say?", "What are the main points of “{}”?", "What is “{}” about?")
    unique = list(dict.fromkeys(t.strip() for t in titles if t.strip()))
    return [templates[i % len(templates)].format(t) for i, t in enumerate(unique[:limit])]


def failure_message(status: int, detail: str) -> str:
    """A refusal from the API in plain words, without the HTTP status code."""
    detail = detail.rstrip(".")
    if status == 401:
        return (
            "The server did not accept the chat's key. Set UI_API_KEY (or ADMIN_API_KEY) to a key it knows."
        )
    if status == 429:
        # The limit is shared with every program that uses the chat's key (or this machine's address).
        return "The server is getting too many requests right now. Wait a moment and try again."
    if status == 503:
        return f"The server cannot answer right now: {detail}."
    if status >= 500:
        return f"The server failed while answering: {detail}."
    return detail[:1].upper() + detail[1:] + "."


def too_long(length: int, limit: int) -> str:
    """Why a question was not sent: its length against the server's limit."""
    return (
        f"This question is {plural(length, 'character')} long; the server accepts up to {limit:,}. "
        "Shorten it and ask again (it was not sent)."
    )


def human_duration(seconds: float) -> str:
    """`45 s`, `12 min`, `1 h 05 min`."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def job_progress(job: dict[str, Any]) -> tuple[float, str]:
    """A running ingestion job as a progress bar's fraction and its words."""
    total = job.get("documents_total")
    if total is None:
        return 0.0, "Comparing the corpus folder with the store…"
    done = job["documents_done"]
    eta = job.get("eta_seconds")
    left = "estimating the time left" if eta is None else f"about {human_duration(eta)} left"
    words = (
        f"{done:,} of {plural(total, 'document')} · {plural(job['chunks_done'], 'passage')} written "
        f"({job['chunks_per_second']:.1f} a second) · {left}"
    )
    pages = job.get("pages_total")
    share = 0.0
    if job.get("current_document") and pages:
        # A long PDF moves the bar page by page, not only once it is done.
        share = min(1.0, job.get("pages_embedded", 0) / pages)
        words += f" · {job['current_document']}: page {job['pages_done']:,} of {pages:,} read"
    return (min(1.0, (done + share) / total) if total else 1.0), words


def combined_report(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Several ingestion reports (one per uploaded file) as one, counting each document once.

    Each run re-reports the documents of the runs before it as unchanged; they count where they
    were added or changed."""
    combined: dict[str, Any] = {"added": [], "changed": [], "unchanged": [], "removed": []}
    combined |= {"failed": {}, "skipped": {}, "notes": {}, "chunks_written": 0, "seconds": 0.0}
    for report in reports:
        for key in ("added", "changed", "removed"):
            combined[key] += [s for s in report[key] if s not in combined[key]]
        for key in ("failed", "skipped", "notes"):
            combined[key] |= report[key]
        combined["chunks_written"] += report["chunks_written"]
        combined["seconds"] += report["seconds"]
    written = set(combined["added"]) | set(combined["changed"])
    last = reports[-1] if reports else combined
    combined["unchanged"] = [s for s in last["unchanged"] if s not in written]
    combined["failed"] = {s: why for s, why in combined["failed"].items() if s not in written}
    return combined
