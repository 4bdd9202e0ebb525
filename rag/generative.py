"""Passages → answer written by an LLM, its citations checked; the extractive answer is the fallback."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from llama_index.core.llms import LLM

from rag.answering import (
    NOT_FOUND,
    Answerer,
    AnswerEvent,
    CitationsEvent,
    TokenEvent,
    abstain,
    citation,
)
from rag.models import Answer, Passage
from rag.prompt import NOT_FOUND_TOKEN, SYSTEM, answer_messages
from rag.retrieval import Query

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


class GenerativeAnswerer:
    """Asks an LLM for a concise answer citing numbered passages; never fails the request."""

    name = "llm"

    def __init__(self, llm: LLM, fallback: Answerer) -> None:
        self.llm = llm
        self.fallback = fallback

    def answer(self, query: Query, passages: list[Passage]) -> Answer:
        *_, final = self.stream(query, passages)
        assert isinstance(final, Answer)
        return final

    def stream(self, query: Query, passages: list[Passage]) -> Iterator[AnswerEvent]:
        yield CitationsEvent([citation(n, p) for n, p in enumerate(passages, 1)])
        text = ""
        try:
            for chunk in self.llm.stream_chat(answer_messages(query.text, passages)):
                delta = chunk.delta or ""
                text += delta
                if delta:
                    yield TokenEvent(delta)
        except Exception as exc:  # timeouts, refused connections, 429s, bad replies: all fall back
            log.warning("LLM failed, falling back to the extractive answer: %s", exc)
            yield self._fallback(query, passages, f"the language model failed ({type(exc).__name__})")
            return
        yield self.check(text, query, passages)

    def check(self, text: str, query: Query, passages: list[Passage]) -> Answer:
        """Keep markers that name a passage, drop the rest; an answer citing nothing is replaced."""
        if echoes_prompt(text):
            return self._fallback(query, passages, "the language model repeated its instructions")
        if text.strip().strip(".").startswith(NOT_FOUND_TOKEN):
            return abstain().model_copy(update={"answerer": self.name})
        cleaned, used = check_citations(text, len(passages))
        if not used:
            return self._fallback(query, passages, "the language model's answer cited no passage")
        return Answer(
            answer=cleaned,
            citations=[citation(n, passages[n - 1]) for n in sorted(used)],
            abstained=False,
            answerer=self.name,
        )

    def _fallback(self, query: Query, passages: list[Passage], reason: str) -> Answer:
        answer = self.fallback.answer(query, passages)
        notice = f"{reason}; showing quoted sentences from the documents instead"
        return answer.model_copy(update={"notice": notice})


def echoes_prompt(text: str) -> bool:
    """Small models sometimes echo the prompt: that is no answer, whatever it cites."""
    return SYSTEM[:60] in text or "<documents>" in text


def check_citations(text: str, passages: int) -> tuple[str, set[int]]:
    """The text with markers naming no passage removed, and the passage numbers it does cite."""
    used: set[int] = set()

    def keep(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"\s*,\s*", match.group(1))]
        valid = [n for n in numbers if 1 <= n <= passages]
        used.update(valid)
        return "".join(f"[{n}]" for n in valid)

    cleaned = _MARKER.sub(keep, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    return cleaned or NOT_FOUND, used
