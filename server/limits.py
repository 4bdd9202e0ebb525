"""Per-key rate limiting and a request body cap, as middleware."""

from __future__ import annotations

import math
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from server.deps import OPEN_PATHS, given_key


def install(app: FastAPI, rate: str, max_body_bytes: int) -> None:
    """429 with Retry-After past `rate` per key (or client address); 413 past `max_body_bytes`."""
    limit = parse(rate)
    limiter = MovingWindowRateLimiter(MemoryStorage())

    @app.middleware("http")
    async def cap(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > max_body_bytes:
            return JSONResponse({"detail": f"request body over {max_body_bytes:,} bytes"}, status_code=413)
        if request.url.path not in OPEN_PATHS:
            who = given_key(request) or (request.client.host if request.client else "unknown")
            if not limiter.hit(limit, who):
                reset = limiter.get_window_stats(limit, who).reset_time
                retry = max(1, math.ceil(reset - time.time()))
                return JSONResponse(
                    {"detail": f"rate limit of {rate} exceeded"},
                    status_code=429,
                    headers={"Retry-After": str(retry)},
                )
        return await call_next(request)
