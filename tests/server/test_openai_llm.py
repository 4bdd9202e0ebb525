"""/v1/chat/completions with an LLM answerer: the fake OpenAI-compatible server on loopback writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import openai
from fastapi import FastAPI

from rag.answering import NOT_FOUND
from rag.assistant import Assistant
from server.app import create_app
from tests.conftest import llm_assistant, serve

QUESTION = "How many North Korean troops are part of the initial deployment?"


@contextmanager
def llm_api(corpus_assistant: Assistant, fake: tuple[str, FastAPI], model: str) -> Iterator[str]:
    """The API served by uvicorn on loopback, answering through the fake LLM's `model` behaviour."""
    with serve(create_app(assistant=llm_assistant(corpus_assistant, fake[0], model))) as url:
        yield url


def streamed(url: str, collection: str, **options: Any) -> tuple[list[str], dict[str, Any]]:
    """The content pieces of a streamed completion, and the extra fields of the chunk that carried them."""
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    stream = client.chat.completions.create(
        model=collection, messages=[{"role": "user", "content": QUESTION}], stream=True, **options
    )
    pieces, extra = [], {}
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        extra |= chunk.model_extra or {}
    return pieces, extra


def asked(url: str) -> dict[str, Any]:
    return httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=30).json()


def test_the_models_tokens_stream_with_bogus_citations_removed(corpus_assistant, fake_llm_server) -> None:
    with llm_api(corpus_assistant, fake_llm_server, "bogus-cite") as url:
        pieces, extra = streamed(url, corpus_assistant.store.name)
        expected = asked(url)
    text = "".join(pieces)
    assert len(pieces) >= 3  # the model's words arrive as it writes them, not in one piece
    assert "[9]" not in text and "[1]" in text
    assert extra["answerer"] == "llm" and [c["id"] for c in extra["citations"]] == [1]
    assert text.split("\n\nSources:\n")[0] == expected["answer"]  # the same checked answer as /ask


def test_an_answer_citing_nothing_is_never_shown_and_the_fallback_stands_in(
    corpus_assistant, fake_llm_server
) -> None:
    with llm_api(corpus_assistant, fake_llm_server, "no-cite") as url:
        pieces, extra = streamed(url, corpus_assistant.store.name)
        expected = asked(url)
    text = "".join(pieces)
    assert "probably" not in text
    assert text.startswith(expected["answer"]) and extra["notice"] == expected["notice"]
    assert f"Note: {expected['notice']}." in text


def test_a_failing_llm_falls_back_as_ask_does(corpus_assistant, fake_llm_server) -> None:
    with llm_api(corpus_assistant, fake_llm_server, "ratelimit") as url:
        pieces, extra = streamed(url, corpus_assistant.store.name)
        expected = asked(url)
    assert expected["answerer"] == "extractive" and "failed" in expected["notice"]
    assert "".join(pieces).startswith(expected["answer"])
    assert extra["notice"] == expected["notice"] and extra["citations"] == expected["citations"]


def test_not_in_the_documents_shows_only_the_abstention(corpus_assistant, fake_llm_server) -> None:
    with llm_api(corpus_assistant, fake_llm_server, "not-found") as url:
        pieces, extra = streamed(url, corpus_assistant.store.name)
    assert "".join(pieces) == NOT_FOUND and extra["abstained"] is True


def test_sampling_settings_reach_the_llm_and_max_tokens_stays_under_the_cap(
    corpus_assistant, fake_llm_server
) -> None:
    requests = fake_llm_server[1].state.requests
    with llm_api(corpus_assistant, fake_llm_server, "cite-first") as url:
        streamed(url, corpus_assistant.store.name, temperature=0.3, top_p=0.5, max_tokens=40)
        sent = requests[-1]
        streamed(url, corpus_assistant.store.name, max_tokens=100_000)
        capped = requests[-1]
        streamed(url, corpus_assistant.store.name)
        default = requests[-1]
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"]) == (0.3, 0.5, 40)
    assert capped["max_tokens"] == corpus_assistant.settings.llm_max_tokens
    assert default["temperature"] == 0.0 and "top_p" not in default
