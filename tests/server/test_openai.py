"""The OpenAI-compatible endpoints, driven by the official `openai` SDK against a real API process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from llama_index.core.utils import get_tokenizer

from rag.answering import NOT_FOUND
from rag.assistant import Assistant
from tests.conftest import api_process, process_env

KEY = "reader-key"
BURST_KEY = "burst-key"  # spent by the rate-limit test alone
TROOPS = "How many North Korean troops are part of the initial deployment?"
FOLLOW_UP = "Where are they being sent?"
OFF_TOPIC = "Who won the 2022 FIFA World Cup?"


@pytest.fixture(scope="module")
def api_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openai-api") / "api.log"


@pytest.fixture(scope="module")
def api_url(corpus_assistant: Assistant, api_log: Path) -> Iterator[str]:
    """One API process for the module, over the shipped corpus, with keys and small limits."""
    env = process_env(
        corpus_assistant.settings,
        API_KEYS=f"{KEY},{BURST_KEY}",
        ADMIN_API_KEY="admin-key",
        RATE_LIMIT="25/minute",
        MAX_BODY_BYTES="20000",
    )
    with api_process(env, api_log) as url:
        yield url


@pytest.fixture(scope="module")
def model(corpus_assistant: Assistant) -> str:
    return corpus_assistant.store.name


@pytest.fixture
def client(api_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api_url}/v1", api_key=KEY, max_retries=0)


def ask(client: openai.OpenAI, model: str, question: str) -> openai.types.chat.ChatCompletion:
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}])


def test_models_list_the_collection_and_an_unknown_one_is_not_found(
    client: openai.OpenAI, model: str
) -> None:
    assert [m.id for m in client.models.list()] == [model]
    assert client.models.retrieve(model).id == model
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_answer_has_a_sources_list_and_structured_citations(client: openai.OpenAI, model: str) -> None:
    completion = ask(client, model, TROOPS)
    content = completion.choices[0].message.content or ""
    answer, sources = content.split("\n\nSources:\n")
    assert "1500 North Korean troops" in answer and "[1]" in answer
    citations = completion.model_extra["citations"]
    assert citations and completion.model_extra["abstained"] is False
    first = citations[0]
    assert sources.splitlines()[0].startswith(f"[1] {first['title']} ({first['source']}): “")
    assert "1500 North Korean troops" in sources  # the quoted sentence
    assert completion.choices[0].finish_reason == "stop" and completion.model == model


def test_usage_counts_the_tokens_of_the_messages_and_the_reply(client: openai.OpenAI, model: str) -> None:
    completion = ask(client, model, TROOPS)
    count = get_tokenizer()
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == len(count(TROOPS))
    assert completion.usage.completion_tokens == len(count(completion.choices[0].message.content or ""))
    used = completion.usage
    assert used.total_tokens == used.prompt_tokens + used.completion_tokens


def test_abstention_is_visible(client: openai.OpenAI, model: str) -> None:
    completion = ask(client, model, OFF_TOPIC)
    assert completion.choices[0].message.content == NOT_FOUND
    assert completion.model_extra["abstained"] is True and completion.model_extra["citations"] == []


def test_stream_gives_the_same_answer_in_chunks_with_citations_before_the_end(
    client: openai.OpenAI, model: str
) -> None:
    whole = ask(client, model, TROOPS)
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": TROOPS}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    cited = [i for i, c in enumerate(chunks) if (c.model_extra or {}).get("citations")]
    finished = [i for i, c in enumerate(chunks) if c.choices and c.choices[0].finish_reason == "stop"]
    assert cited and finished and cited[0] < finished[0]
    assert chunks[cited[0]].model_extra["citations"] == whole.model_extra["citations"]
    assert whole.usage is not None and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_stream_ends_with_done(api_url: str, model: str) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": TROOPS}], "stream": True}
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.stream("POST", f"{api_url}/v1/chat/completions", json=body, headers=headers) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[0][6:])["choices"][0]["delta"]["role"] == "assistant"


def test_follow_up_through_messages_matches_ask_with_the_same_history(
    api_url: str, client: openai.OpenAI, model: str
) -> None:
    first = ask(client, model, TROOPS).choices[0].message.content or ""
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": TROOPS},
        {"role": "assistant", "content": first},
        {"role": "user", "content": FOLLOW_UP},
    ]
    follow_up = client.chat.completions.create(model=model, messages=messages)
    history = [{"role": "user", "content": TROOPS}, {"role": "assistant", "content": first.split("\n\n")[0]}]
    headers = {"Authorization": f"Bearer {KEY}"}
    expected = httpx.post(
        f"{api_url}/ask", json={"question": FOLLOW_UP, "history": history}, headers=headers
    ).json()
    assert (follow_up.choices[0].message.content or "").startswith(expected["answer"])
    assert follow_up.model_extra["citations"] == expected["citations"]
    alone = ask(client, model, FOLLOW_UP).choices[0].message.content or ""
    assert not alone.startswith(expected["answer"])  # the history changed the answer


def test_a_wrong_key_raises_authentication_error(api_url: str, model: str) -> None:
    client = openai.OpenAI(base_url=f"{api_url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        ask(client, model, TROOPS)
    assert raised.value.body["type"] == "authentication_error"


def test_an_unknown_model_raises_not_found_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        ask(client, "gpt-4o", TROOPS)
    assert raised.value.code == "model_not_found" and "gpt-4o" in raised.value.message


def test_an_over_long_question_raises_bad_request_error(client: openai.OpenAI, model: str) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        ask(client, model, "Why? " * 300)
    assert "limit is 1000" in raised.value.message


def test_a_request_without_a_question_raises_bad_request_error(client: openai.OpenAI, model: str) -> None:
    with pytest.raises(openai.BadRequestError, match="last message must be the user's question"):
        client.chat.completions.create(model=model, messages=[{"role": "system", "content": "Hi."}])
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=model, messages=[])
    assert raised.value.param == "messages"


def test_an_over_large_body_is_refused_in_the_openai_shape(client: openai.OpenAI, model: str) -> None:
    history = [{"role": "user", "content": "Tell me more. " * 100}] * 20  # about 28 kB
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model=model, messages=[*history, {"role": "user", "content": TROOPS}])
    assert raised.value.status_code == 413 and raised.value.code == "request_too_large"
    assert "larger than the 20,000-byte limit" in raised.value.message


@pytest.mark.parametrize(
    ("field", "value"),
    [("stream", "yes"), ("temperature", "0.5"), ("max_tokens", True), ("n", "1")],
)
def test_a_value_of_the_wrong_json_type_is_a_bad_request_naming_the_field(
    api_url: str, model: str, field: str, value: object
) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": TROOPS}], field: value}
    response = httpx.post(
        f"{api_url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == field


def test_past_the_rate_limit_raises_rate_limit_error(api_url: str, model: str) -> None:
    client = openai.OpenAI(base_url=f"{api_url}/v1", api_key=BURST_KEY, max_retries=0)
    with pytest.raises(openai.RateLimitError) as raised:
        for _ in range(26):
            client.models.list()
    assert int(raised.value.response.headers["retry-after"]) >= 1


def test_answers_are_logged_like_the_rest_of_the_api(
    client: openai.OpenAI, model: str, api_log: Path
) -> None:
    def logged() -> list[dict]:
        records = [json.loads(line) for line in api_log.read_text().splitlines() if line.startswith("{")]
        return [r for r in records if r["message"] == "request" and r["path"] == "/v1/chat/completions"]

    before = len(logged())
    ask(client, model, TROOPS)
    # The server writes its log line as the response goes out: on a busy machine it can land a moment later.
    deadline = time.monotonic() + 10
    while len(requests := logged()) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(requests) > before and requests[-1]["status"] == 200 and requests[-1]["request_id"] != "-"
    # One line per request, with the answer's timings on it; never the question unless allowed.
    assert "retrieve_ms" in requests[-1] and "question" not in requests[-1]


def test_the_docs_describe_the_endpoints(client: openai.OpenAI, api_url: str) -> None:
    schema = httpx.get(f"{api_url}/openapi.json", headers={"Authorization": f"Bearer {KEY}"}).json()
    request = schema["components"]["schemas"]["ChatCompletionRequest"]["properties"]
    assert "LLM answerers only" in request["temperature"]["description"]
    assert {"/v1/chat/completions", "/v1/models"} <= set(schema["paths"])
