"""The FastAPI app: thin routes over the core's `Assistant`, core errors mapped to statuses here only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from rag.assistant import Assistant, build_assistant
from rag.errors import (
    CorpusNotFound,
    EmbeddingModelError,
    EmptyCorpus,
    InvalidQuestion,
    RagError,
    StoreUnavailable,
)
from rag.models import Answer, SearchHit
from rag.settings import Settings, get_settings
from server.schemas import AskRequest, Health, SearchRequest, SearchResponse

STATUS_BY_ERROR: dict[type[RagError], int] = {
    InvalidQuestion: 422,
    CorpusNotFound: 404,
    EmptyCorpus: 422,
    StoreUnavailable: 503,
    EmbeddingModelError: 503,
}


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """The API; pass an assistant to share one already built (tests do), else it is built at startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.assistant = assistant or build_assistant(settings or get_settings())
        yield

    app = FastAPI(
        title="Document Q&A",
        description="Answers questions over a folder of documents, citing the passages that hold the answer.",
        version="0.1.0",
        lifespan=lifespan,
    )

    @app.exception_handler(RagError)
    async def rag_error(_: Request, exc: RagError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=STATUS_BY_ERROR.get(type(exc), 500))

    def current(request: Request) -> Assistant:
        return request.app.state.assistant

    @app.post("/ask", response_model=Answer, summary="Answer a question with citations")
    async def ask(body: AskRequest, request: Request) -> Answer:
        """The answer marks claims with [n]; each n is a citation's id. Abstains when nothing fits."""
        return await run_in_threadpool(current(request).ask, body.question, body.history, body.top_k)

    @app.post("/search", response_model=SearchResponse, summary="Retrieve ranked passages only")
    async def search(body: SearchRequest, request: Request) -> SearchResponse:
        passages = await run_in_threadpool(current(request).search, body.query, body.top_k)
        return SearchResponse(results=[SearchHit.from_passage(i, p) for i, p in enumerate(passages, 1)])

    @app.get("/health", response_model=Health, summary="Whether the store answers, and its size")
    async def health(request: Request) -> Health:
        assistant = current(request)
        chunks = await run_in_threadpool(assistant.store.count)
        return Health(status="ok", chunks=chunks, collection=assistant.store.name)

    return app
