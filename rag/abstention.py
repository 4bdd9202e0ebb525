"""When the documents do not hold the answer: a decision fitted on several signals, not one threshold.

The signals: how likely the best sentence answers, its margin over the next, whether it holds the kind
of thing asked for, whether BM25 and dense retrieval agree, how much of the question's rare words
the passages contain at all (an answer about something the documents never name is unlikely), the
reader model's verdict on the sentences it read, the meaning of the closest sentence, and how far it falls
below a floor (a linear weight on the cosine alone cannot say "below this, nothing here is about the
question"). The closest sentence, not passage: a handbook's passage covers several subjects, and one
sentence of it answers "Can children join?" while the passage as a whole is far from it.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache

from rag.answer_types import CONTACT_KINDS, channel, expected_type
from rag.lexical import question_terms, share_held, terms
from rag.models import Passage
from rag.reading import FEATURES, WEIGHTS_FILE, Reading, read

SIGNALS = (
    "bias",
    "best",
    "margin",
    "relevance",
    "cosine",
    "agreement",
    "type_missing",
    "coverage",
    "missing_rare",
    "reader",
    "sentence_cosine",
    "low_cosine",
)


_COSINE = FEATURES.index("cosine")


@lru_cache(maxsize=1)
def _fitted() -> tuple[tuple[float, ...], float, float]:
    fitted = json.loads(WEIGHTS_FILE.read_text())["abstention"]
    weights = tuple(float(fitted["weights"].get(name, 0.0)) for name in SIGNALS)
    return weights, float(fitted["threshold"]), float(fitted.get("cosine_floor", 0.0))


def low_cosine(cosine: float, floor: float) -> float:
    """How far the closest sentence's cosine falls below the floor (0 above it)."""
    return max(0.0, floor - cosine)


def signals(
    question: str, passages: list[Passage], readings: list[Reading], idf: dict[str, float]
) -> tuple[float, ...]:
    """The numbers the decision weighs, in the order of SIGNALS; idf weighs the question's words."""
    best = readings[0].probability if readings else 0.0
    second = readings[1].probability if len(readings) > 1 else 0.0
    top = passages[0] if passages else None
    kind = expected_type(question)
    words = set(terms(question))
    found: set[str] = set()
    for p in passages:
        found |= set(terms(f"{p.chunk.title} {p.chunk.text}"))
    weight = {t: idf.get(t, 0.0) for t in words}
    total = sum(weight.values()) or 1.0
    coverage = sum(w for t, w in weight.items() if t in found) / total
    missing = max((w for t, w in weight.items() if t not in found), default=0.0)
    rarest = max(weight.values(), default=0.0) or 1.0
    closest = max((r.features[_COSINE] for r in readings), default=0.0)
    return (
        1.0,
        best,
        best - second,
        top.score if top else 0.0,
        top.cosine if top else 0.0,
        top.lexical if top else 0.0,
        1.0 if kind and readings and not readings[0].candidates else 0.0,
        coverage,
        missing / rarest,
        max((r.checked for r in readings if r.checked is not None), default=0.0),
        closest,
        low_cosine(closest, _fitted()[2]),
    )


def answer_probability(values: tuple[float, ...]) -> float:
    """How likely the passages answer the question, by the fitted weights."""
    w = _fitted()[0]
    z = sum(a * b for a, b in zip(w, values, strict=True))
    return 1 / (1 + math.exp(-z))


def should_abstain(values: tuple[float, ...]) -> bool:
    """True when the answer is unlikely enough to be in the passages that saying so is more honest."""
    return answer_probability(values) < _fitted()[1]


def abstains(question: str, passages: list[Passage], idf: dict[str, float], min_relevance: float) -> bool:
    """The whole decision: below the relevance floor always, and when a contact detail is asked for that
    no sentence read holds; otherwise when the fitted decision says so."""
    if not passages or passages[0].score < min_relevance:
        return True
    readings = read(question, passages)
    wants_contact = expected_type(question) in CONTACT_KINDS
    if wants_contact and not any(gives_contact(question, r, idf) for r in readings):
        return True
    return should_abstain(signals(question, passages, readings, idf))


# Words a request for a contact detail is made of; the rest say whose detail is wanted ("the pottery's").
_CONTACT_WORDS = frozenset(
    terms(
        "phone telephone number numbers email e-mail mail address website site web page url homepage contact "
        "call ring reach write text dial fax mobile cell helpline hotline office support emergency get touch "
        "find send whats can could do does is are their them they its i me my we us our you your he she him "
        "his her please tell give need want would should"
    )
)


def gives_contact(question: str, reading: Reading, idf: dict[str, float]) -> bool:
    """Whether a sentence read holds the contact detail asked for: one of the kind, on the channel named
    ("fax"), in a passage about whoever the question names (not another club's phone number)."""
    if not reading.candidates:
        return False
    named = channel(question)
    if named and named not in reading.text.lower():
        return False
    asked = {t for t in question_terms(question) if len(t) > 1} - _CONTACT_WORDS  # not the "s" of "'s"
    whose = {t: idf.get(t, 0.0) for t in asked}
    return not sum(whose.values()) or share_held(whose, reading.passage.chunk) >= 0.5
