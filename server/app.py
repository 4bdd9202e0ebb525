"""The FastAPI app: thin routes over the core's `Assistant`, core errors mapped to statuses here only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.assistant import Assistant, build_assistant
from rag.conversations import FILE_NAME, ConversationStore
from rag.embedding import set_torch_threads
from rag.errors import (
    ConversationNotFound,
    CorpusNotFound,
    DocumentNotFound,
    EmbeddingModelError,
    EmbeddingModelMismatch,
    EmptyCorpus,
    FileTooLarge,
    IngestionBusy,
    IngestJobNotFound,
    InvalidQuestion,
    RagError,
    StoreUnavailable,
    UnreadableDocument,
    UnsupportedFile,
)
from rag.ingest_jobs import IngestJobs
from rag.settings import Settings, get_settings
from server import mcp as mcp_server
from server import observability, openai_compat
from server.deps import needs_admin
from server.limits import Guard, body_cap_errors
from server.routes import config, conversations, documents, openai, qa

# Most specific first: the first matching class decides.
STATUS_BY_ERROR: list[tuple[type[RagError], int]] = [
    (InvalidQuestion, 422),
    (FileTooLarge, 413),
    (UnreadableDocument, 422),
    (UnsupportedFile, 415),
    (DocumentNotFound, 404),
    (IngestJobNotFound, 404),
    (CorpusNotFound, 404),
    (ConversationNotFound, 404),
    (EmptyCorpus, 422),
    (IngestionBusy, 409),
    (StoreUnavailable, 503),
    (EmbeddingModelError, 503),
    (EmbeddingModelMismatch, 503),
]


def status_for(error: RagError) -> int:
    return next((status for kind, status in STATUS_BY_ERROR if isinstance(error, kind)), 500)


def errors_shaped_outermost(app: FastAPI, body_cap: int) -> None:
    """The body cap's 413 as JSON like every other error, and under /v1 every error in OpenAI's shape for
    its SDKs, whatever raised it. The body cap answers from outside every middleware, so the shapes are
    given outside the whole stack, on the way out."""
    build = app.build_middleware_stack

    def build_shaped() -> ASGIApp:
        stack = build()

        async def shaped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"].startswith("/v1/"):
                send = openai_compat.shaped_errors(send)
            if scope["type"] == "http":
                send = body_cap_errors(send, body_cap)
            await stack(scope, receive, send)

        return shaped

    app.build_middleware_stack = build_shaped  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """The API; pass an assistant to share one already built (tests do), else it is built at startup."""
    settings = assistant.settings if assistant else settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if assistant is None:  # the serving process (each worker runs its own lifespan), not a test's
            set_torch_threads(settings.torch_threads)
        app.state.assistant = assistant or build_assistant(settings)
        await run_in_threadpool(app.state.ingest_jobs.sweep_interrupted)
        async with mcp.session_manager.run():
            yield

    # The docs page's Swagger UI files are served from the package, not a CDN: it works offline.
    app = FastAPIOffline(
        title="Document Q&A",
        description="Answers questions over a folder of documents, citing the passages that hold the answer.",
        version="0.1.0",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,  # counted as the bytes stream, Content-Length or not
    )
    app.state.metrics = observability.Metrics()
    app.state.conversations = ConversationStore(settings.data_dir / FILE_NAME)
    app.state.ingest_jobs = IngestJobs(settings.data_dir)

    @app.exception_handler(RagError)
    async def rag_error(_: Request, exc: RagError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Without the offending input: a NaN or a lone surrogate in it cannot be written as JSON.
        errors = [{k: e[k] for k in ("type", "loc", "msg") if k in e} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    routers = [qa.router, documents.router, openai.router, conversations.router, config.router]
    for router in routers:
        app.include_router(router)
    mcp = mcp_server.mount(app)
    # Middleware added last runs first: request ids and metrics wrap everything, then the guard.
    admin_routes = [route for router in routers for route in router.routes if needs_admin(route)]
    app.add_middleware(Guard, settings=settings, admin_routes=admin_routes)

    observability.install(app, app.state.metrics)
    errors_shaped_outermost(app, settings.max_body_bytes)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origin_list, allow_methods=["*"], allow_headers=["*"]
        )
    return app
