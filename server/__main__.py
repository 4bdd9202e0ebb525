"""`python -m server [--host H] [--port P]`: serve the API with uvicorn."""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from rag.assistant import refuse_another_models_store
from rag.errors import ConfigurationError, EmbeddingModelError, EmbeddingModelMismatch
from rag.settings import Settings, get_settings
from server.app import create_app
from server.observability import configure_logging
from server.protocol import HeaderDeadlineProtocol

# uvicorn's own deadline sits past the streams' drain time, so a stream can still send its error event.
SHUTDOWN_MARGIN_SECONDS = 3


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The bounds on connections, headers, proxies and shutdown that the settings ask uvicorn for."""
    proxies = settings.trusted_proxy_list
    return {
        "http": HeaderDeadlineProtocol,
        "limit_concurrency": settings.max_connections,
        # uvicorn believes X-Forwarded-For from loopback unless told otherwise; believe only named proxies.
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or None,
        "timeout_graceful_shutdown": round(settings.shutdown_grace_seconds) + SHUTDOWN_MARGIN_SECONDS,
        "log_config": None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (each loads the model)")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except ConfigurationError as exc:
        configure_logging()
        parser.exit(2, f"error: {exc}\n")
    configure_logging(log_format=settings.log_format)
    if args.workers > 1 and not settings.chroma_host:
        # Embedded Chroma keeps its index in each process's memory; only a Chroma server is shared.
        parser.error("--workers above 1 needs a Chroma server: set CHROMA_HOST (see README, Operations)")
    options = uvicorn_options(settings)
    if args.workers > 1:
        uvicorn.run(
            "server.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            **options,
        )
    else:
        try:
            refuse_another_models_store(settings)
        except (EmbeddingModelMismatch, EmbeddingModelError) as exc:
            parser.exit(2, f"error: {exc}\n")
        uvicorn.run(create_app(), host=args.host, port=args.port, **options)


if __name__ == "__main__":
    main()
