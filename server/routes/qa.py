"""Questions and search."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse

from rag.answering import CitationsEvent, TokenEvent
from rag.assistant import Done, StreamEvent
from rag.models import Answer, SearchHit
from server.deps import AssistantDep
from server.schemas import AskRequest, Health, SearchRequest, SearchResponse

router = APIRouter()


@router.post("/ask", response_model=Answer, summary="Answer a question with citations")
async def ask(body: AskRequest, assistant: AssistantDep) -> Answer:
    """The answer marks claims with [n]; each n is a citation's id. Abstains when nothing fits."""
    return await run_in_threadpool(assistant.ask, body.question, body.history, body.top_k)


@router.post(
    "/ask/stream",
    summary="Answer as server-sent events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def ask_stream(body: AskRequest, assistant: AssistantDep) -> EventSourceResponse:
    """Events: `citations` (the passages the answer may cite, as {"citations": [...]}), then
    `token` ({"text": ...}) as the answer is written, then `done` ({"answer": Answer, "timing": ...}).
    Bad questions fail with an HTTP status before the stream starts."""
    retrieved = await run_in_threadpool(assistant.retrieve, body.question, body.history, body.top_k)
    return EventSourceResponse(sse_events(assistant.stream(retrieved)))


async def sse_events(events: Iterator[StreamEvent]) -> AsyncIterator[dict[str, str]]:
    """Pull the (blocking) event stream in a worker thread and turn each event into an SSE message."""
    end = object()
    while (event := await run_in_threadpool(next, events, end)) is not end:
        if isinstance(event, CitationsEvent):
            data = {"citations": [c.model_dump() for c in event.citations]}
            yield {"event": "citations", "data": json.dumps(data)}
        elif isinstance(event, TokenEvent):
            yield {"event": "token", "data": json.dumps({"text": event.text})}
        elif isinstance(event, Done):
            yield {
                "event": "done",
                "data": json.dumps({"answer": event.answer.model_dump(), "timing": event.timing}),
            }


@router.post("/search", response_model=SearchResponse, summary="Retrieve ranked passages only")
async def search(body: SearchRequest, assistant: AssistantDep) -> SearchResponse:
    passages = await run_in_threadpool(assistant.search, body.query, body.top_k)
    return SearchResponse(results=[SearchHit.from_passage(i, p) for i, p in enumerate(passages, 1)])


@router.get("/health", response_model=Health, summary="Whether the store answers, and its size")
async def health(assistant: AssistantDep) -> Health:
    chunks = await run_in_threadpool(assistant.store.count)
    return Health(status="ok", chunks=chunks, collection=assistant.store.name)
