"""Request ids, logs (one line per request: readable in a terminal, JSON otherwise) and Prometheus metrics."""

from __future__ import annotations

import logging
import sys
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


# Attributes every LogRecord has; anything else on a record was passed as `extra`.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id", "taskName"}


class ReadableFormatter(logging.Formatter):
    """`14:02:03 INFO  POST /ask 200 24.1 ms  retrieve_ms=9.2 …  [request id]`: one plain line, no colours."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if {"method", "path", "status", "ms"} <= fields.keys():
            head = f"{fields.pop('method')} {fields.pop('path')} {fields.pop('status')} {fields.pop('ms')} ms"
        else:
            head = record.getMessage()
        tail = "  ".join(f"{k}={v}" for k, v in fields.items())
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<5} {head}"
        line += f"  {tail}" if tail else ""
        line += f"  [{record.request_id}]" if getattr(record, "request_id", "-") != "-" else ""
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "INFO", log_format: str = "auto") -> None:
    """Log lines on stderr carrying the request id: readable when stderr is a terminal, else JSON.

    Our middleware logs each request once, so uvicorn's access lines and httpx's info lines are off."""
    readable = log_format == "text" or (log_format == "auto" and sys.stderr.isatty())
    handler = logging.StreamHandler()
    handler.setFormatter(
        ReadableFormatter()
        if readable
        else JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s")
    )
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = True
    # The Chroma client's HTTP calls would add lines of their own to every request.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))


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

        def done(status: int) -> None:
            # Logged once the body is sent, so a streamed answer's timings join its request's line.
            seconds = time.perf_counter() - started
            route = request.scope.get("route")
            endpoint = getattr(route, "path", "unmatched")
            metrics.requests.labels(request.method, endpoint, str(status)).inc()
            metrics.latency.labels(endpoint).observe(seconds)
            fields = {"method": request.method, "path": endpoint, "status": status}
            fields |= {"ms": round(seconds * 1000, 1), **getattr(request.state, "log_fields", {})}
            reset = request_id.set(rid[:128])
            log.info("request", extra=fields)
            request_id.reset(reset)

        try:
            response = await call_next(request)
        except BaseException:
            done(500)
            raise
        finally:
            request_id.reset(token)
        response.headers["X-Request-ID"] = rid[:128]
        body = response.body_iterator

        async def logged_body():  # type: ignore[no-untyped-def]
            try:
                async for chunk in body:
                    yield chunk
            finally:
                done(response.status_code)

        response.body_iterator = logged_body()
        return response

    @app.get("/metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        metrics.chunks.set(request.app.state.assistant.store.count())
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
