"""OpenAI-compatible chat completions and models over the same question path as /ask."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool

from server import openai_compat as oa
from server.deps import AssistantDep
from server.routes.qa import record, recorded

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])


def check_model(model: str, collection: str) -> None:
    if model != collection:
        detail = {
            "message": f"The model `{model}` does not exist; this API serves `{collection}`.",
            "code": "model_not_found",
            "param": "model",
        }
        raise HTTPException(status_code=404, detail=detail)


@router.get("/models", summary="The collections that can be asked (one: this API's)")
async def list_models(assistant: AssistantDep) -> dict[str, Any]:
    return oa.models(assistant.store.name)


@router.get("/models/{model}", summary="One model, or 404")
async def get_model(model: str, assistant: AssistantDep) -> dict[str, Any]:
    check_model(model, assistant.store.name)
    return oa.model_card(model)


@router.post(
    "/chat/completions",
    summary="Answer the last user message with citations, as OpenAI's chat completions do",
    response_model=None,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def chat_completions(
    body: oa.ChatCompletionRequest, assistant: AssistantDep, request: Request
) -> dict[str, Any] | EventSourceResponse:
    """A `chat.completion` (or, with `stream`, `chat.completion.chunk` events ending with `[DONE]`)
    whose content is the cited answer followed by a Sources list, with the extra fields `citations`,
    `abstained`, `answerer` and `notice`. Errors come in OpenAI's error shape."""
    check_model(body.model, assistant.store.name)
    question, history = oa.question_and_history(body.messages)
    assistant = assistant.tuned(body.temperature, body.top_p, body.max_completion_tokens or body.max_tokens)
    retrieved = await run_in_threadpool(assistant.retrieve, question, history)
    prompt = oa.prompt_tokens(body.messages)
    if not body.stream:
        done = await run_in_threadpool(assistant.answer, retrieved)
        record(request, assistant, question, done)
        return oa.completion(body.model, done.answer, prompt)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    chunks = oa.completion_chunks(
        recorded(request, assistant, question, retrieved), body.model, prompt, include_usage
    )
    # One data line per event and "\n\n" between them, as OpenAI's SDKs read.
    return EventSourceResponse(({"data": c} async for c in iterate_in_threadpool(chunks)), sep="\n")
