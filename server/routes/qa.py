"""Questions and search."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator

import anyio
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse

from rag.answering import CitationsEvent, TokenEvent
from rag.assistant import Assistant, Done, Retrieved, StreamEvent
from rag.models import Answer, SearchHit
from server.deps import AssistantDep
from server.schemas import AskRequest, Health, SearchRequest, SearchResponse

router = APIRouter()
log = logging.getLogger("server")


@router.post("/ask", response_model=Answer, summary="Answer a question with citations")
async def ask(body: AskRequest, assistant: AssistantDep, request: Request) -> Answer:
    """The answer marks claims with [n]; each n is a citation's id. Abstains when nothing fits."""
    retrieved = await run_in_threadpool(assistant.retrieve, body.question, body.history, body.top_k)
    done = await run_in_threadpool(assistant.answer, retrieved)
    record(request, assistant, body.question, done)
    return done.answer


def record(request: Request, assistant: Assistant, question: str, done: Done) -> None:
    """Stage timings into the metrics and the request's log line; the question itself only when allowed."""
    request.app.state.metrics.observe_timing(done.timing)
    extra: dict[str, object] = {**done.timing, "abstained": done.answer.abstained}
    extra["answerer"] = done.answer.answerer
    if assistant.settings.log_questions:
        extra["question"] = question
    request.state.log_fields = extra


@router.post(
    "/ask/stream",
    summary="Answer as server-sent events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def ask_stream(body: AskRequest, assistant: AssistantDep, request: Request) -> EventSourceResponse:
    """Events: `citations` (the passages the answer may cite, as {"citations": [...]}), then
    `token` ({"text": ...}) as the answer is written, then `done` ({"answer": Answer, "timing": ...}).
    Bad questions fail with an HTTP status before the stream starts. A stream the server cannot finish
    (it is shutting down) ends with `error` ({"detail": ...}) instead of `done`."""
    retrieved = await run_in_threadpool(assistant.retrieve, body.question, body.history, body.top_k)
    shutdown = anyio.Event()
    grace = assistant.settings.shutdown_grace_seconds
    return EventSourceResponse(
        sse_events(recorded(request, assistant, body.question, retrieved), shutdown, grace),
        shutdown_event=shutdown,  # set by sse-starlette on SIGTERM; the stream then has `grace` to finish
        shutdown_grace_period=grace + 1,
    )


def recorded(
    request: Request, assistant: Assistant, question: str, retrieved: Retrieved
) -> Iterator[StreamEvent]:
    """The answer's stream, recorded (as `record` does) when it is done."""
    for event in assistant.stream(retrieved):
        if isinstance(event, Done):
            record(request, assistant, question, event)
        yield event


async def sse_events(
    events: Iterator[StreamEvent], shutdown: anyio.Event, grace: float
) -> AsyncIterator[dict[str, str]]:
    """Pull the (blocking) event stream in a worker thread and turn each event into an SSE message;
    when the server shuts down, finish within `grace` seconds or end with an `error` event."""
    end = object()
    cut_at: float | None = None
    pending: asyncio.Task | None = None
    try:
        while True:
            pending = pending or asyncio.ensure_future(run_in_threadpool(next, events, end))
            done, _ = await asyncio.wait({pending}, timeout=0.25)
            if done:
                event, pending = pending.result(), None
                if event is end:
                    return
                yield sse_message(event)
            if shutdown.is_set():
                cut_at = cut_at or time.monotonic() + grace
                if time.monotonic() >= cut_at:
                    detail = "the server is shutting down; this answer is incomplete, ask again"
                    yield {"event": "error", "data": json.dumps({"detail": detail})}
                    return
    finally:
        if pending is not None:
            pending.cancel()


def sse_message(event: StreamEvent) -> dict[str, str]:
    """One event of the answer as an SSE message."""
    if isinstance(event, CitationsEvent):
        data = {"citations": [c.model_dump() for c in event.citations]}
        return {"event": "citations", "data": json.dumps(data)}
    if isinstance(event, TokenEvent):
        return {"event": "token", "data": json.dumps({"text": event.text})}
    return {
        "event": "done",
        "data": json.dumps({"answer": event.answer.model_dump(), "timing": event.timing}),
    }


@router.post("/search", response_model=SearchResponse, summary="Retrieve ranked passages only")
async def search(body: SearchRequest, assistant: AssistantDep) -> SearchResponse:
    passages = await run_in_threadpool(assistant.search, body.query, body.top_k)
    return SearchResponse(results=[SearchHit.from_passage(i, p) for i, p in enumerate(passages, 1)])


@router.get("/ready", summary="Ready to answer: the model is loaded and the store answers")
async def ready(assistant: AssistantDep) -> dict[str, object]:
    chunks = await run_in_threadpool(assistant.store.count)
    return {"status": "ready", "chunks": chunks}


@router.get("/health", response_model=Health, summary="Whether the store answers, and its size")
async def health(assistant: AssistantDep) -> Health:
    chunks = await run_in_threadpool(assistant.store.count)
    built = await run_in_threadpool(assistant.retriever.indexes_ready)
    return Health(
        status="ok", chunks=chunks, collection=assistant.store.name, indexes="ready" if built else "building"
    )
