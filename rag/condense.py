"""Follow-up questions → standalone queries, without an LLM."""

from __future__ import annotations

import logging
import re

from llama_index.core.llms import LLM

from rag.answering import NOT_FOUND
from rag.lexical import question_terms, share_held, terms
from rag.models import Passage, Turn
from rag.prompt import condense_messages
from rag.reading import normalise

log = logging.getLogger(__name__)

# Words that point back to something named earlier in the conversation.
_REFERRING = frozenset(
    [
        "it",
        "its",
        "they",
        "them",
        "their",
        "theirs",
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
        "this",
        "that",
        "these",
        "those",
        "there",
        "then",
        "such",
        "same",
        "former",
        "latter",
        "one",
        "ones",
        "another",
        "other",
        "others",
    ]
)
_WORD = re.compile(r"[A-Za-z']+")
# "What about a hotel elsewhere?", "And who signs it off?": opening like this, a question continues the last.
_CONTINUES = re.compile(r"^\W*(?:(?:and|also|but|so)\b|(?:what|how) about\b)", re.IGNORECASE)
_PERSON = re.compile(r"\b(?:he|him|his|himself|she|her|hers|herself)\b", re.IGNORECASE)
_SHORT_QUESTION_WORDS = 4
CONDENSE_TURNS = 6  # a follow-up is read against the last few turns only, however long the chat


def standalone_question(question: str, history: list[Turn] | None, llm: LLM | None = None) -> str:
    """The question as retrieval should see it: a follow-up is rewritten by the LLM when there is one,
    else followed by the previous question, which only resolves what the new one refers to."""
    history = (history or [])[-CONDENSE_TURNS:]
    # A question the documents could not answer has nothing a follow-up could refer back to: read with
    # it, "Back to the lighthouse: what can you see from it?" after a request for a poem found nothing.
    previous = [
        t.content.strip()
        for i, t in enumerate(history)
        if t.role == "user"
        and t.content.strip()
        and not (i + 1 < len(history) and history[i + 1].content.startswith(NOT_FOUND))
    ]
    if not previous or not is_follow_up(question):
        return question
    if llm is not None:
        try:
            turns = [(t.role, t.content) for t in history]
            rewritten = llm.chat(condense_messages(question, turns)).message.content or ""
            if rewritten.strip():
                return rewritten.strip()
        except Exception as exc:  # the rule below still works without the LLM
            log.warning("LLM condensation failed: %s", exc)
    return f"{question} {previous[-1]}"


def is_follow_up(question: str) -> bool:
    """True when the question leans on earlier turns: it refers back, opens as a continuation ("what
    about…", "and…"), or is too short to stand alone."""
    words = [w.lower() for w in _WORD.findall(question)]
    return (
        any(w in _REFERRING for w in words)
        or len(words) <= _SHORT_QUESTION_WORDS
        or _CONTINUES.match(question) is not None
    )


def already_said(question: str, history: list[Turn] | None) -> frozenset[str]:
    """For a follow-up, what earlier answers quoted (markers dropped): it wants something new. A question
    that stands alone may rightly get the same answer again, so for it nothing counts as said."""
    if not history or not is_follow_up(question):
        return frozenset()
    return frozenset(normalise(re.sub(r"\[\d+\]", "", t.content)) for t in history if t.role == "assistant")


def own_words(question: str, idf: dict[str, float]) -> dict[str, float]:
    """The question's words that say what it is about, by how rare each is (idf; 0 for a word the
    store does not hold, which neither reading can find): not its question words nor the words that
    refer back."""
    skip = set(terms(" ".join(_REFERRING)))
    return {t: idf.get(t, 0.0) for t in set(question_terms(question)) - skip}


def covered(words: dict[str, float], passages: list[Passage]) -> float:
    """The share of the words' weight that the best passage (its text and title) holds."""
    return share_held(words, passages[0].chunk) if passages else 0.0


def changed_subject(
    question: str, as_follow_up: list[Passage], alone: list[Passage], idf: dict[str, float]
) -> bool:
    """Whether a question read as a follow-up is better read alone: it says what it is about in two
    words or more, the follow-up reading found a passage holding few of them (under 40% of their
    weight), and the question alone found one holding clearly more (15 points more). "When do they
    collect the honey?" after a question on troops is about honey; "Who is offering it?" names
    nothing of its own and stays a follow-up. The thresholds were set on eval/followups.jsonl and
    eval/topic-switch.jsonl. A question saying "he" or "she" stays a follow-up: "When did he start work
    on it?" after a question on a bridge's engineer is about him, though "start work" fits another
    document better."""
    if _PERSON.search(question):  # "he", "her": someone named earlier, never a new subject's
        return False
    words = own_words(question, idf)
    if len(words) < 2:
        return False
    found = covered(words, as_follow_up)
    if not (found < 0.4 and covered(words, alone) >= found + 0.15):
        return False
    # And the question alone finds something more relevant: "How many of them could be in the first
    # wave?" alone matched "first" in an article on complexity theory, far weaker than the troops'.
    return bool(alone) and (not as_follow_up or alone[0].score > as_follow_up[0].score)
