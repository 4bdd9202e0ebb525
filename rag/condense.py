"""Follow-up questions → standalone queries, without an LLM."""

from __future__ import annotations

import logging
import re

from llama_index.core.llms import LLM

from rag.models import Turn
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
_SHORT_QUESTION_WORDS = 4
CONDENSE_TURNS = 6  # a follow-up is read against the last few turns only, however long the chat


def standalone_question(question: str, history: list[Turn] | None, llm: LLM | None = None) -> str:
    """The question as retrieval should see it: a follow-up is rewritten by the LLM when there is one,
    else followed by the previous question, which only resolves what the new one refers to."""
    history = (history or [])[-CONDENSE_TURNS:]
    previous = [t.content.strip() for t in history if t.role == "user" and t.content.strip()]
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
    """True when the question leans on earlier turns: it refers back, or is too short to stand alone."""
    words = [w.lower() for w in _WORD.findall(question)]
    return any(w in _REFERRING for w in words) or len(words) <= _SHORT_QUESTION_WORDS


def already_said(question: str, history: list[Turn] | None) -> frozenset[str]:
    """For a follow-up, what earlier answers quoted (markers dropped): it wants something new. A question
    that stands alone may rightly get the same answer again, so for it nothing counts as said."""
    if not history or not is_follow_up(question):
        return frozenset()
    return frozenset(normalise(re.sub(r"\[\d+\]", "", t.content)) for t in history if t.role == "assistant")
