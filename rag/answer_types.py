"""What kind of answer a question asks for, and where a sentence holds one: dates, numbers, names, places,
and contact details (a phone number, an email address, a web address).

Plain patterns, not a tagger: they run in microseconds, need no model, and only have to tell a sentence
that could answer "when" from one that cannot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class AnswerType(Enum):
    DATE = "date"
    NUMBER = "number"
    PERSON = "person"  # a person or an organisation
    PLACE = "place"
    NAME = "name"  # any proper name ("which team", "what company")
    PHONE = "phone"
    EMAIL = "email"
    WEB_ADDRESS = "web address"
    PHRASE = "phrase"  # whatever the reader model marks as the answer, of no kind in particular


# Kinds a sentence either holds or cannot answer: no paraphrase of "1931" or "info@club.org" exists.
EXACT_KINDS = frozenset(
    {AnswerType.DATE, AnswerType.NUMBER, AnswerType.PHONE, AnswerType.EMAIL, AnswerType.WEB_ADDRESS}
)
# Kinds no other wording can stand in for: "after the war" may answer "when", nothing but an address
# answers "what is their email address".
CONTACT_KINDS = frozenset({AnswerType.PHONE, AnswerType.EMAIL, AnswerType.WEB_ADDRESS})


@dataclass(frozen=True)
class Candidate:
    """A stretch of a sentence that could be the answer; offsets are within the sentence."""

    start: int
    end: int
    text: str
    type: AnswerType


_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_ORDINAL = r"\d{1,2}(?:st|nd|rd|th)"
_MONTH_CUES = (
    "in",
    "during",
    "until",
    "till",
    "by",
    "since",
    "from",
    "every",
    "each",
    "through",
    "before",
    "after",
)
_DATE = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{3,4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+\d{{3,4}})?"
    rf"|{_MONTH}\s+\d{{3,4}}"
    # A month alone only after a word that makes it a time ("may" is also a verb), that word left out.
    r"|(?:" + "|".join(rf"(?<=\b{w} )" for w in _MONTH_CUES) + ")"
    rf"(?:early\s+|late\s+|mid-?\s*)?{_MONTH}"
    rf"|(?:the\s+)?(?:early\s+|late\s+|mid-?\s*)?{_ORDINAL}(?:\s+(?:and|or|to)\s+{_ORDINAL})?\s+centur(?:y|ies)"
    r"|(?:the\s+)?\d{2,4}s\b"
    r"|\d{1,4}\s*(?:BC|AD|BCE|CE)\b"
    r"|(?:1[0-9]|20)\d{2}(?:\s*(?:–|-|to|and)\s*(?:1[0-9]|20)?\d{2})?"
    rf"|(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today|tomorrow)"
    r"|(?:last|next|this)\s+(?:week|month|year|decade|century)"
    r")\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|thousand|million|billion|trillion|dozen|half|a\s+third|a\s+quarter"
)
_NUMBER = re.compile(
    rf"(?:[$£€¥]\s?)?(?<![\d,.])(?:\d[\d,.]*\d|\d)"
    rf"(?![\d]|st\b|nd\b|rd\b|th\b)(?:\s*(?:%|percent|per\s+cent))?"
    rf"(?:\s*(?:{_NUMBER_WORDS}))?"
    rf"|\b(?:{_NUMBER_WORDS})(?:[\s-]+(?:{_NUMBER_WORDS}))*\b",
    re.IGNORECASE,
)
# Capitalised words in a row, allowing "of", "the", "de" inside: "Duke of Normandy", "Bank of England".
_NAME = re.compile(
    r"\b[A-Z][\w'’-]*(?:[ \t]+(?:(?:of|the|de|da|von|van|for|du|la|le|al|bin)[ \t]+)*"
    r"(?:[A-Z][\w'’-]*|\d+\b(?![,.]\d)))*"
)
_MONTH_OR_DAY = re.compile(rf"{_MONTH}|monday|tuesday|wednesday|thursday|friday|saturday|sunday", re.I)
# "in 1998" is a date, not a count; "around 1200 casualties" is a count.
_YEAR_CUE = re.compile(
    rf"(?:\b(?:in|since|by|until|from|during|of|early|late|mid|year)|{_MONTH}|\d)\s+\|(?:1[0-9]|20)\d\d$",
    re.I,
)
_PLACE_CUE = re.compile(r"\b(?:in|at|from|to|near|into|on|across|towards?|between)\s+(?:the\s+)?$", re.I)
_PHONE = re.compile(r"(?<![\w.,/-])\+?\(?\d[\d ().-]{5,}\d(?![\w/-]|[,.]\d)")
_YEAR_SPAN = re.compile(r"^\d{4}\s*-\s*\d{4}$")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_TLD = r"(?:com|org|net|edu|gov|io|co|uk|de|fr|nl|es|it|au|ca|nz|ie|eu|us|info|biz|app|dev)"
_WEB = re.compile(
    r"(?<![\w.@])@\w{2,}"  # a handle: "Instagram: @kestrelchoir"
    r"|(?:https?://|\bwww\.)[^\s<>()\"']*[^\s<>()\"'.,;:!?]"
    rf"|(?<![@\w.-])[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.{_TLD}\b(?:/[^\s<>()\"']*[^\s<>()\"'.,;:!?])?",
    re.IGNORECASE,
)
# Questions asking for a way to get in touch. The wh-word must be near the noun ("What is their email?"),
# so "What did Haas say in his email?" or "the search feature on the V&A website" stay ordinary questions.
_NEAR_WH = (
    r"(?:\b(?:what|which|where)(?:'s|s|\s+is|\s+are|\s+was|\s+were)?\s+(?:\S+\s+){0,3}"
    r"|\bwhere (?:can|do|could|should) (?:i|we|you) (?:find|get|see|look up)\s+(?:\S+\s+){0,2})"
)
_ASKS_PHONE = re.compile(
    r"\b(?:(?:tele)?phone|fax|contact|mobile|cell|helpline|hotline|office|support|emergency)(?: phone)? "
    r"numbers?\b|\bby (?:tele)?phone\b|\b(?:phone|ring|text) (?:them|us|him|her)\b"
    r"|\b(?:helpline|hotline|fax)\b"
    r"|\bnumber (?:to|should|do|can|could|would) (?:i |we |you )?(?:call|ring|dial|text)\b"
)
_ASKS_EMAIL = re.compile(
    rf"{_NEAR_WH}e-?mail\b|\be-?mail address|\bby e-?mail\b|\be-?mail (?:them|us|him|her)\b"
)
_SOCIAL = r"instagram|facebook|twitter|tiktok|linkedin|whatsapp|youtube|mastodon|bluesky"
_ALONE = r"^\W*(?:(?:and|or|what about|how about)\s+)?(?:(?:a|an|the|their|its|his|her|your|our)\s+)?"
_ASKS_WEB = re.compile(
    rf"{_NEAR_WH}(?:web ?site|web address|url|home ?page|web ?page|{_SOCIAL})\b|\bweb address|\burl\b"
    rf"|{_ALONE}(?:{_SOCIAL})\b"  # "And their Instagram?"
)
_CHANNEL = re.compile(rf"\b(?:fax|{_SOCIAL})\b", re.IGNORECASE)
_SENTENCE_OPENERS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "to",
        "of",
        "with",
        "as",
        "after",
        "before",
        "during",
        "while",
        "when",
        "where",
        "who",
        "what",
        "which",
        "how",
        "he",
        "she",
        "they",
        "we",
        "i",
        "his",
        "her",
        "their",
        "our",
        "there",
        "here",
        "however",
        "but",
        "and",
        "or",
        "so",
        "although",
        "though",
        "since",
        "until",
        "if",
        "then",
        "also",
        "many",
        "most",
        "some",
        "several",
        "about",
        "around",
        "nearly",
        "over",
        "under",
        "only",
        "just",
        "more",
        "less",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
    ]
)


def expected_type(question: str) -> AnswerType | None:
    """The kind of answer a question wants, from its wording; None when any kind of answer fits."""
    q = question.strip().lower()
    if re.search(
        r"\b(?:when|what (?:year|date|day|month|time|decade|century|period|era)|which (?:year|date|"
        r"day|month|decade|century|period)|how long ago|since when|until when)\b",
        q,
    ):
        return AnswerType.DATE
    if not re.search(r"\bhow (?:many|much)\b", q):
        for kind, asks in ((AnswerType.EMAIL, _ASKS_EMAIL), (AnswerType.WEB_ADDRESS, _ASKS_WEB)):
            if asks.search(q):
                return kind
        if _ASKS_PHONE.search(q):
            return AnswerType.PHONE
    if re.search(
        r"\b(?:how (?:many|much|long|far|big|large|old|tall|high|often|fast|heavy|deep|wide)|"
        r"what (?:percentage|percent|proportion|share|number|amount|size|age|population|"
        r"price|cost|rate|speed|distance)|what is the (?:population|number|total))\b",
        q,
    ):
        return AnswerType.NUMBER
    if re.search(r"\b(?:who|whom|whose)\b", q):
        return AnswerType.PERSON
    if re.search(
        r"\bwhere\b|\b(?:what|which) (?:city|country|state|region|place|town|county|continent|"
        r"location|area|island|river|province|nation)\b|\bin what (?:city|country|state|place|"
        r"region|town)\b",
        q,
    ):
        return AnswerType.PLACE
    if re.search(
        r"\b(?:which|what) (?:team|company|organi[sz]ation|group|party|person|band|club|school|"
        r"university|newspaper|network|channel|book|film|song|ship|king|queen|leader|"
        r"president|brand|agency)\b|\bname of\b|\bwhat is the name\b|\bwhat was the name\b",
        q,
    ):
        return AnswerType.NAME
    return None


def channel(question: str) -> str | None:
    """The one way of getting in touch a question names, when only that one will do: "fax", "instagram"
    (a phone number is no fax number, a website no Instagram account)."""
    found = _CHANNEL.search(question)
    return found.group().lower() if found else None


def candidates(sentence: str, kind: AnswerType) -> list[Candidate]:
    """Stretches of the sentence that are of the given kind."""
    if kind is AnswerType.DATE:
        found = [(m.start(), m.end()) for m in _DATE.finditer(sentence)]
    elif kind is AnswerType.PHONE:
        found = [
            (m.start(), m.end())
            for m in _PHONE.finditer(sentence)
            if len(re.sub(r"\D", "", m.group())) >= 7 and not _YEAR_SPAN.match(m.group())
        ]
    elif kind is AnswerType.EMAIL:
        found = [(m.start(), m.end()) for m in _EMAIL.finditer(sentence)]
    elif kind is AnswerType.WEB_ADDRESS:
        found = [(m.start(), m.end()) for m in _WEB.finditer(sentence)]
    elif kind is AnswerType.NUMBER:
        found = [
            (m.start(), m.end())
            for m in _NUMBER.finditer(sentence)
            if m.group().strip()
            and not _YEAR_CUE.search(sentence[max(0, m.start() - 12) : m.start()] + "|" + m.group())
        ]
    else:
        found = []
        for m in _NAME.finditer(sentence):
            start, end = m.start(), m.end()
            text = m.group()
            first = text.split()[0].lower()
            if _MONTH_OR_DAY.fullmatch(first):
                continue
            opens = start == 0 or sentence[:start].rstrip().endswith((".", ":", '"', "“"))
            if opens and first in _SENTENCE_OPENERS:
                continue
            if kind is AnswerType.PLACE and not _PLACE_CUE.search(sentence[max(0, start - 14) : start]):
                continue
            found.append((start, end))
    return [
        Candidate(s, e, sentence[s:e].strip(" ,.;:"), kind) for s, e in found if sentence[s:e].strip(" ,.;:")
    ]


def new_candidates(sentence: str, kind: AnswerType, question: str) -> list[Candidate]:
    """Candidates of the kind that the question does not itself mention: the answer adds something."""
    asked = question.lower()
    return [c for c in candidates(sentence, kind) if c.text.lower() not in asked]
