"""Passages → the sentences that answer: each sentence read with its neighbours, the kind of answer the
question wants, and weights fitted on questions with known answers (`python -m rag.fit`)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.answer_types import EXACT_KINDS, AnswerType, Candidate, expected_type, new_candidates
from rag.chunking import is_fact_line
from rag.lexical import terms
from rag.models import Passage, ScoredSentence
from rag.reader_model import pair_text, reader_model

WEIGHTS_FILE = Path(__file__).with_name("reader_weights.json")

_HEADING = re.compile(r"^\s*#{1,6}\s|^\s*[=\-_*]{3,}\s*$")
_TABLE_RULE = re.compile(r"^\s*\|[\s:|-]*-[\s:|-]*\|?\s*$")  # |---|:--:|
_TABLE_ROW = re.compile(r"^\s*\|\s*(.*?)\s*\|\s*$")
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)])\s+")
# A closing bracket ends a sentence only after a full stop: "Policy (version 3, January 2026)" is a title.
_ENDS_SENTENCE = re.compile(r"(?:[.!?:;\"'”’…]|[.!?…][\"'”’]?[)\]])\s*$")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Reading:
    """A sentence read as a possible answer: where it is, its features, and how likely it answers."""

    passage: Passage
    sentence: ScoredSentence
    text: str  # the sentence as quoted: bullet marker dropped, whitespace normalised
    start: int  # offsets of the quoted text within the chunk
    end: int
    features: tuple[float, ...]
    probability: float  # its share of the chance that one of the sentences read answers (they sum to 1)
    candidates: tuple[Candidate, ...]  # stretches of the asked-for kind that the question lacks
    checked: float | None = None  # the reader model's probability that it answers, if it read it


FEATURES = (
    "cosine",
    "overlap",
    "context_overlap",
    "previous_cosine",
    "type_match",
    "type_missing",
    "exact_kind_missing",
    "type_match_overlap",
    "passage_relevance",
    "passage_cosine",
    "passage_rank",
    "log_words",
    "novelty",
    "first_in_passage",
)


def is_structure(sentence: ScoredSentence, passage: Passage) -> bool:
    """True for a title, heading, table header or rule: metadata, never an answer."""
    return structure_at(passage.chunk.text, passage.chunk.title, sentence.start, sentence.end)


def structure_at(text: str, title: str, start: int, end: int) -> bool:
    """Whether text[start:end] is a title, heading, table header or rule, or a short line on its own that
    does not read as a sentence or a fact (a label, a short list entry)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    line = text[line_start:line_end]
    if _HEADING.match(line) or _TABLE_RULE.match(line):
        return True
    if _TABLE_ROW.match(line):  # a row holds facts; the header row above the rule names the columns
        return bool(_TABLE_RULE.match(text[line_end + 1 :].split("\n", 1)[0]))
    sentence = text[start:end]
    if normalise(sentence).lower() == normalise(title).lower():
        return True
    before = text[line_start:start]
    at_line_start, runs_on = not before.strip(), bool(text[end:line_end].strip())
    numbered = bool(_BULLET.fullmatch(before))  # "5. " split off as a sentence of its own
    if (at_line_start or numbered) and runs_on and _run_in_heading(sentence, numbered):
        return True
    whole_line = at_line_start and not runs_on
    return (
        whole_line
        and len(sentence.split()) <= 12
        and not _ENDS_SENTENCE.search(sentence)
        and not is_fact_line(sentence)  # "Check-in: from 4 pm": a fact, not a label
    )


# Words that make a short line a statement ("Dogs are banned."), not a label ("Changes to this policy.").
_VERB_WORDS = "is are was were be been am has have had do does did can could may might must shall should will"
_VERBS = frozenset([*_VERB_WORDS.split(), "would", "not", "no", "never"])


def _run_in_heading(sentence: str, numbered: bool) -> bool:
    """Whether a sentence that opens a line and runs into more text is a heading: "5. Hotels. The nightly
    rate…", "Scope. The policy applies…"; numbered, at most five words, else one or two, and no verb."""
    marker = _BULLET.match(sentence)
    words = sentence[marker.end() if marker else 0 :].split()
    short = len(words) <= (5 if marker or numbered else 2)
    plain = not any(w.strip(".:,;").lower() in _VERBS for w in words)
    return bool(words) and short and plain and sentence.rstrip()[-1] in ".:"


def normalise(text: str) -> str:
    """Whitespace runs (hard line breaks included) as single spaces."""
    return _SPACE.sub(" ", text).strip()


def quoted(sentence: ScoredSentence) -> tuple[str, int, int]:
    """The sentence as an answer quotes it, with its offsets in the chunk: list markers and a table row's
    outer bars dropped."""
    row = _TABLE_ROW.match(sentence.text)
    if row:
        return normalise(row.group(1)), sentence.start + row.start(1), sentence.start + row.end(1)
    marker = _BULLET.match(sentence.text)
    skip = marker.end() if marker else 0
    return normalise(sentence.text[skip:]), sentence.start + skip, sentence.end


@lru_cache(maxsize=1)
def weights() -> tuple[float, ...]:
    """The fitted weights, one per feature."""
    fitted = json.loads(WEIGHTS_FILE.read_text())
    return tuple(float(fitted["weights"][name]) for name in FEATURES)


@lru_cache(maxsize=1)
def model_use() -> tuple[float, int]:
    """How much the reader model's logit adds to a sentence's score, and how many sentences it reads
    (the likeliest by the features); (0, 0) when it is not used."""
    fitted = json.loads(WEIGHTS_FILE.read_text()).get("reader_model") or {}
    return float(fitted.get("weight", 0.0)), int(fitted.get("checked", 0))


def read(question: str, passages: list[Passage]) -> list[Reading]:
    """Every quotable sentence of the passages, most likely answer first; repeats (overlap) count once."""
    kind = expected_type(question)
    asked = set(terms(question))
    w = weights()
    rows: list[tuple[Passage, ScoredSentence, str, int, int, tuple[float, ...]]] = []
    kinds: list[tuple[Candidate, ...]] = []
    seen: set[str] = set()
    for rank, passage in enumerate(passages, 1):
        in_order = sorted(passage.sentences, key=lambda s: s.start)
        for i, sentence in enumerate(in_order):
            if is_structure(sentence, passage):
                continue
            text, start, end = quoted(sentence)
            if not text or text in seen:
                continue
            seen.add(text)
            before = in_order[i - 1].cosine if i else 0.0
            found = tuple(new_candidates(text, kind, question)) if kind else ()
            rows.append(
                (
                    passage,
                    sentence,
                    text,
                    start,
                    end,
                    features(sentence, passage, rank, i, before, kind, found, text, asked),
                )
            )
            kinds.append(found)
    if not rows:
        return []
    # Scores become shares of one whole (a softmax): the weights were fitted to pick one sentence among
    # those read for a question, so only differences between a question's sentences mean anything.
    z = [sum(a * b for a, b in zip(w, row[5], strict=True)) for row in rows]
    checked = _check(question, rows, z)
    top = max(z)
    exp = [math.exp(v - top) for v in z]
    total = sum(exp)
    readings = [
        Reading(*row, e / total, found, checked.get(i))
        for i, (row, e, found) in enumerate(zip(rows, exp, kinds, strict=True))
    ]
    readings.sort(key=lambda r: r.probability, reverse=True)
    return readings


# The reader model reads a sentence only when the features leave it in the running: within READ_WITHIN
# (a logit; e^-3, 5% of the leader's share) of the likeliest sentence, and always the likeliest two.
# On the fitting and dev sets (1,300 questions) it then reads 3.6 pairs a question instead of 6, and
# answers as before but for two questions (docs/answering.md).
READ_WITHIN = 3.0
READ_AT_LEAST = 2


def in_the_running(z: list[float], how_many: int) -> list[int]:
    """The rows the reader model reads, likeliest first: at most how_many, within READ_WITHIN of the best."""
    likeliest = sorted(range(len(z)), key=lambda i: -z[i])[:how_many]
    top = z[likeliest[0]] if likeliest else 0.0
    return [i for rank, i in enumerate(likeliest) if rank < READ_AT_LEAST or z[i] >= top - READ_WITHIN]


def _check(question: str, rows: list[tuple], z: list[float]) -> dict[int, float]:
    """Let the reader model read the likeliest sentences and add its logit to their scores (in place);
    the rest score as the least convincing of those read. Returns its probabilities by row."""
    weight, how_many = model_use()
    model = reader_model() if weight and how_many else None
    if model is None:
        return {}
    chosen = in_the_running(z, how_many)
    logits = model.logits(question, [pair_text(rows[i][0].chunk.title, rows[i][2]) for i in chosen])
    by_row = dict(zip(chosen, logits.tolist(), strict=True))
    floor = min(by_row.values())
    for i in range(len(z)):
        z[i] += weight * by_row.get(i, floor)
    return {i: 1 / (1 + math.exp(-v)) for i, v in by_row.items()}


def features(
    sentence: ScoredSentence,
    passage: Passage,
    rank: int,
    position: int,
    previous_cosine: float,
    kind: AnswerType | None,
    found: tuple[Candidate, ...],
    text: str,
    asked: set[str],
) -> tuple[float, ...]:
    """The numbers the fitted weights apply to, in the order of FEATURES."""
    words = set(terms(text))
    novelty = len(words - asked) / len(words) if words else 0.0
    match = 1.0 if kind and found else 0.0
    return (
        sentence.cosine,
        sentence.overlap,
        sentence.context_overlap,
        previous_cosine,
        match,
        1.0 if kind and not found else 0.0,
        1.0 if kind in EXACT_KINDS and not found else 0.0,
        match * sentence.context_overlap,
        passage.score,
        passage.cosine,
        1.0 / rank,
        math.log(1 + len(text.split())),
        novelty,
        1.0 if position == 0 else 0.0,
    )


_INSIDE_WORD = re.compile(r"[\w@]|[,.\-/'’:](?=\w)")


def whole_value(text: str, start: int, end: int, candidates: tuple[Candidate, ...]) -> tuple[int, int]:
    """A span widened to the whole value it cuts into: "1,150" not "150", "Pemberton-Hay" not
    "Pemberton", and the whole of a phone number, address or date of the asked-for kind it overlaps
    (the span head reads word pieces, and "01822 614 093" is three words to it)."""
    for c in candidates:
        if c.start < end and start < c.end:
            start, end = min(start, c.start), max(end, c.end)
    while start > 0 and _INSIDE_WORD.match(text, start - 1):
        if text[start - 1] == "," and not text[start - 2 : start - 1].isdigit():
            break  # "Voysey, 1,150": the comma after a word ends it
        start -= 1
    while end < len(text) and _INSIDE_WORD.match(text, end):
        end += 1
    return start, end


def answer_span(reading: Reading, question: str) -> Candidate | None:
    """The stretch of the sentence that answers: where the reader model's span head marks it, else, when
    the question asks for a kind of thing the sentence holds, the candidate nearest the question's words."""
    model = reader_model()
    if model is not None:
        found = model.span(question, reading.passage.chunk.title, reading.text)
        if found is not None and found[1] > found[0]:
            start, end = whole_value(reading.text, *found, reading.candidates)
            return Candidate(start, end, reading.text[start:end], AnswerType.PHRASE)
    if not reading.candidates:
        return None
    asked = set(terms(question))
    anchors = [m.start() for m in re.finditer(r"\w+", reading.text) if set(terms(m.group())) & asked]
    if not anchors:
        return reading.candidates[0]

    def distance(c: Candidate) -> int:
        return min(min(abs(c.start - a), abs(c.end - a)) for a in anchors)

    return min(reading.candidates, key=distance)
