"""Passages → answer written by an LLM, its citations checked; the extractive answer is the fallback."""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator

from llama_index.core.llms import LLM, ChatMessage

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

    def __init__(self, llm: LLM, fallback: Answerer, deadline: float = 30.0) -> None:
        self.llm = llm
        self.fallback = fallback
        self.deadline = deadline  # seconds for the whole answer, however the model paces its tokens

    def answer(self, query: Query, passages: list[Passage]) -> Answer:
        *_, final = self.stream(query, passages)
        assert isinstance(final, Answer)
        return final

    def stream(self, query: Query, passages: list[Passage]) -> Iterator[AnswerEvent]:
        yield CitationsEvent([citation(n, p) for n, p in enumerate(passages, 1)])
        text = ""
        messages = answer_messages(query.text, passages)
        try:
            for delta in within(
                self.deadline, lambda: (c.delta or "" for c in self.llm.stream_chat(messages))
            ):
                text += delta
                if delta:
                    yield TokenEvent(delta)
        except Exception as exc:  # timeouts, refused connections, 429s, bad replies: all fall back
            log.warning("LLM failed, falling back to the extractive answer: %s", exc)
            reason = f"{type(exc).__name__}: {exc}" if isinstance(exc, AnswerTimeout) else type(exc).__name__
            yield self._fallback(query, passages, f"the language model failed ({reason})")
            return
        yield self.check(text, query, passages)

    def _deltas(self, messages: list[ChatMessage]) -> Iterator[str]:
        return (chunk.delta or "" for chunk in self.llm.stream_chat(messages))

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


class AnswerTimeout(TimeoutError):
    """The model did not finish its answer in time."""


def within(seconds: float, produce: Callable[[], Iterator[str]]) -> Iterator[str]:
    """The items of `produce()`, or AnswerTimeout once `seconds` have passed since the first was asked for.

    The HTTP client's timeout is per read, so a model dripping a token every few seconds never trips it;
    the items are pulled in a thread so the wait for each one can be cut at the deadline."""
    items: queue.Queue[tuple[str, object]] = queue.Queue()
    stop = threading.Event()

    def pull() -> None:
        try:
            source = produce()
            for item in source:
                if stop.is_set():
                    source.close()  # type: ignore[attr-defined]  # closes the HTTP response too
                    return
                items.put(("item", item))
            items.put(("end", None))
        except Exception as exc:
            items.put(("error", exc))

    threading.Thread(target=pull, daemon=True, name="llm-answer").start()
    deadline = time.monotonic() + seconds
    try:
        while True:
            try:
                kind, value = items.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AnswerTimeout(f"no complete answer within {seconds:g} s") from None
            if kind == "end":
                return
            if kind == "error":
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]
    finally:
        stop.set()


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
