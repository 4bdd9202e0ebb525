"""Request ids, JSON logs and Prometheus metrics for the API."""

from __future__ import annotations

import logging
import time
import uuid
from contextvars import ContextVar

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pythonjsonlogger.json import JsonFormatter

request_id: ContextVar[str] = ContextVar("request_id", default="-")
log = logging.getLogger("server")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """One JSON object a line on stderr, each carrying the request id."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


class Metrics:
    """The app's own registry, so several apps in one process (tests) never clash."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rag_requests", "HTTP requests", ["method", "endpoint", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "rag_request_seconds", "HTTP request latency", ["endpoint"], registry=self.registry
        )
        self.stage = Histogram(
            "rag_stage_seconds",
            "Time per answering stage",
            ["stage"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.chunks = Gauge("rag_chunks_in_store", "Chunks in the store", registry=self.registry)
        self.ingestions = Counter("rag_ingestion_runs", "Ingestion runs", ["outcome"], registry=self.registry)

    def observe_timing(self, timing: dict[str, float]) -> None:
        for stage in ("retrieve", "answer"):
            if f"{stage}_ms" in timing:
                self.stage.labels(stage).observe(timing[f"{stage}_ms"] / 1000)


def install(app: FastAPI, metrics: Metrics) -> None:
    """Add the request-id, logging and metrics middleware, and the /metrics endpoint."""

    @app.middleware("http")
    async def observe(request: Request, call_next):  # type: ignore[no-untyped-def]
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        token = request_id.set(rid[:128])
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["X-Request-ID"] = request_id.get()
            return response
        finally:
            seconds = time.perf_counter() - started
            route = request.scope.get("route")
            endpoint = getattr(route, "path", "unmatched")
            metrics.requests.labels(request.method, endpoint, str(status)).inc()
            metrics.latency.labels(endpoint).observe(seconds)
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": endpoint,
                    "status": status,
                    "ms": round(seconds * 1000, 1),
                },
            )
            request_id.reset(token)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        metrics.chunks.set(request.app.state.assistant.store.count())
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
