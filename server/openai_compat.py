"""Translation between OpenAI's chat-completions shapes and the core's questions, answers and errors."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from functools import cache
from typing import Any, Literal

from llama_index.core.utils import get_tokenizer
from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt
from starlette import types as asgi

from rag.answering import CitationsEvent, TokenEvent
from rag.assistant import Done, StreamEvent
from rag.errors import InvalidQuestion
from rag.models import Answer, Citation, Turn
from rag.reading import normalise
from rag.streaming import CheckedText
from server.limits import json_detail, rewritten_errors

SOURCES_HEADING = "\n\nSources:\n"
_MARKED = re.compile(r"([^\[\]]+?)\s*((?:\[\d+\])+)")
_EXCERPT_CHARS = 200


class ContentPart(BaseModel):
    type: str = Field(description='"text" parts are read; other kinds (images) are ignored.')
    text: str | None = None


class Message(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class StreamOptions(BaseModel):
    include_usage: StrictBool = Field(False, description="Send a last chunk carrying `usage`.")


class ChatCompletionRequest(BaseModel):
    """OpenAI's request body; fields this API does not use (e.g. `user`, `stop`) are accepted and ignored."""

    model: str = Field(description="The collection to ask, as listed by GET /v1/models.")
    messages: list[Message] = Field(
        min_length=1,
        description="The last user message is the question; earlier user and assistant messages are "
        "the history. System messages are accepted and play no part in retrieval.",
    )
    stream: StrictBool = Field(False, description="Answer as `chat.completion.chunk` server-sent events.")
    stream_options: StreamOptions | None = None
    temperature: StrictFloat | None = Field(None, ge=0, le=2, description="LLM answerers only.")
    top_p: StrictFloat | None = Field(
        None, ge=0, le=1, description="LLM answerers only (not the local model)."
    )
    max_tokens: StrictInt | None = Field(
        None, ge=1, description="LLM answerers only; lowers LLM_MAX_TOKENS, never raises it."
    )
    max_completion_tokens: StrictInt | None = Field(None, ge=1, description="Newer name for max_tokens.")
    n: StrictInt = Field(1, ge=1, le=1, description="Only one choice is produced.")


def question_and_history(messages: list[Message]) -> tuple[str, list[Turn]]:
    """The last user message and the turns before it; our own "Sources" lists are cut from old answers."""
    turns = [
        Turn(role=m.role, content=m.text.split(SOURCES_HEADING)[0] if m.role == "assistant" else m.text)
        for m in messages
        if m.role in ("user", "assistant")
    ]
    if not turns or turns[-1].role != "user":
        raise InvalidQuestion("the last message must be the user's question")
    return turns[-1].content, turns[:-1]


def sources(answer: Answer) -> str:
    """The citations as a list any chat client shows: title, page, source and the quoted sentence."""
    lines = [f"[{c.id}] {c.title} ({location(c)}): “{quoted(c, answer.answer)}”" for c in answer.citations]
    if answer.notice:
        lines.append(f"Note: {answer.notice}.")
    return SOURCES_HEADING + "\n".join(lines) if lines else ""


def location(citation: Citation) -> str:
    return f"{citation.source}, p. {citation.page}" if citation.page else citation.source


def quoted(citation: Citation, answer_text: str) -> str:
    """The sentences the answer quotes from this passage; else the passage's opening."""
    if citation.sentences:  # verbatim, so a PDF's line breaks are in them
        return " ".join(normalise(s.text) for s in citation.sentences)
    marker = f"[{citation.id}]"
    verbatim = [
        sentence.strip()
        for sentence, markers in _MARKED.findall(answer_text)
        if marker in markers and sentence.strip() in citation.text
    ]
    if verbatim:
        return " ".join(verbatim)
    text = normalise(citation.text)
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS].rsplit(" ", 1)[0] + "…"


def answer_fields(answer: Answer) -> dict[str, Any]:
    """The extra fields for clients that read structured citations."""
    return {
        "citations": [c.model_dump() for c in answer.citations],
        "abstained": answer.abstained,
        "answerer": answer.answerer,
        "notice": answer.notice,
    }


@cache
def _tokenizer() -> Any:
    return get_tokenizer()  # tiktoken cl100k_base, shipped inside llama-index: works offline


def count_tokens(text: str) -> int:
    return len(_tokenizer()(text)) if text else 0


def prompt_tokens(messages: list[Message]) -> int:
    """Tokens of the messages' text (cl100k_base), without the few tokens of chat formatting."""
    return sum(count_tokens(m.text) for m in messages)


def usage(prompt: int, content: str) -> dict[str, int]:
    completion = count_tokens(content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def completion(model: str, answer: Answer, prompt: int) -> dict[str, Any]:
    """A `chat.completion` object: the cited answer with its Sources list, and the extra fields."""
    content = answer.answer + sources(answer)
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": usage(prompt, content),
        **answer_fields(answer),
    }


def completion_chunks(
    events: Iterator[StreamEvent], model: str, prompt: int, include_usage: bool
) -> Iterator[str]:
    """The answer's events as the `data:` payloads of `chat.completion.chunk` events, ending with [DONE].

    Text shows as it is written once it is backed by a citation (see rag.streaming); the chunk that
    finishes the text carries the Sources list and the structured citations, before the end."""
    created = int(time.time())
    base = {"id": completion_id(), "object": "chat.completion.chunk", "created": created, "model": model}

    def chunk(delta: dict[str, str], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return json.dumps({**base, "choices": [choice], **extra})

    yield chunk({"role": "assistant", "content": ""})
    checked = CheckedText(0)
    sent = ""
    for event in events:
        if isinstance(event, CitationsEvent):
            checked = CheckedText(len(event.citations))
        elif isinstance(event, TokenEvent) and (text := checked.feed(event.text)):
            sent += text
            yield chunk({"content": text})
        elif isinstance(event, Done):
            rest = checked.finish(event.answer) + sources(event.answer)
            sent += rest
            yield chunk({"content": rest}, **answer_fields(event.answer))
    yield chunk({}, finish="stop")
    if include_usage:
        yield json.dumps({**base, "choices": [], "usage": usage(prompt, sent)})
    yield "[DONE]"


def models(collection: str) -> dict[str, Any]:
    """GET /v1/models: the one collection this API answers over."""
    return {"object": "list", "data": [model_card(collection)]}


def model_card(collection: str) -> dict[str, Any]:
    return {"id": collection, "object": "model", "created": 0, "owned_by": "docqa"}


# OpenAI's SDKs choose their exception by status and read the message from {"error": {...}}.
_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("not_found_error", None),
    409: ("conflict_error", None),
    413: ("invalid_request_error", "request_too_large"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def error(status: int, detail: Any) -> tuple[int, dict[str, Any]]:
    """OpenAI's status and error body for one of this API's errors; its 422s are OpenAI's 400s."""
    status = 400 if status == 422 else status
    fallback = ("server_error" if status >= 500 else "invalid_request_error", None)
    kind, code = _ERROR_TYPES.get(status, fallback)
    param = None
    if isinstance(detail, dict):  # raised with its own code and param, e.g. an unknown model
        code, param, detail = detail.get("code", code), detail.get("param"), detail.get("message", "")
    elif isinstance(detail, list):  # request validation errors
        first = detail[0] if detail else {}
        param = ".".join(str(p) for p in first.get("loc", [])[1:]) or None
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}" for e in detail)
    return status, {"error": {"message": str(detail), "type": kind, "param": param, "code": code}}


def shaped_errors(send: asgi.Send) -> asgi.Send:
    """`send` that rewrites an error response's body into OpenAI's error shape (and 422 into 400)."""

    def rewrite(status: int, body: bytes) -> tuple[int, bytes]:
        detail = json_detail(body)
        if detail is None:  # not JSON: Starlette's plain-text answers
            detail = body.decode(errors="replace")
        status, payload = error(status, detail)
        return status, json.dumps(payload).encode()

    return rewritten_errors(send, lambda status: status >= 400, rewrite)
