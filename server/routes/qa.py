"""Questions and search."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from rag.models import Answer, SearchHit
from server.deps import AssistantDep
from server.schemas import AskRequest, Health, SearchRequest, SearchResponse

router = APIRouter()


@router.post("/ask", response_model=Answer, summary="Answer a question with citations")
async def ask(body: AskRequest, assistant: AssistantDep) -> Answer:
    """The answer marks claims with [n]; each n is a citation's id. Abstains when nothing fits."""
    return await run_in_threadpool(assistant.ask, body.question, body.history, body.top_k)


@router.post("/search", response_model=SearchResponse, summary="Retrieve ranked passages only")
async def search(body: SearchRequest, assistant: AssistantDep) -> SearchResponse:
    passages = await run_in_threadpool(assistant.search, body.query, body.top_k)
    return SearchResponse(results=[SearchHit.from_passage(i, p) for i, p in enumerate(passages, 1)])


@router.get("/health", response_model=Health, summary="Whether the store answers, and its size")
async def health(assistant: AssistantDep) -> Health:
    chunks = await run_in_threadpool(assistant.store.count)
    return Health(status="ok", chunks=chunks, collection=assistant.store.name)
