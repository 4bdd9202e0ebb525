"""The guard in front of every route: keys checked from the headers before any body is read, rate limits
bucketed by an accepted key (else by client address), and a deadline for the body to arrive.

The body's size is capped by FastAPI's own `max_body_size` (set in server/app.py), which counts the
bytes as they stream, chunked or not."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import Callable
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.settings import Settings
from server.deps import DOCS_PATHS, OPEN_PATHS, WRONG_KEY, Access, access_of

# Starlette's words for a body over the cap: plain text, or a JSON detail when a route was reading it.
STARLETTE_TOO_LARGE = "Content Too Large"


class BodyTooSlow(HTTPException):
    """A body that did not arrive in time; an HTTPException so FastAPI's body parsing passes it on."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"request body not received within {seconds:g} seconds")


def rate_limit_storage(uri: str) -> Storage:
    """The async `limits` storage for a URI such as memory:// or redis://host:port."""
    if not uri.startswith("async+"):
        uri = f"async+{uri}"
    options: dict[str, Any] = {"implementation": "redispy"} if uri.startswith("async+redis") else {}
    return storage_from_string(uri, **options)  # type: ignore[return-value]


class Guard:
    """ASGI middleware; decides from the headers alone, then watches the body as the app reads it."""

    def __init__(self, app: ASGIApp, settings: Settings, admin_routes: list[BaseRoute]) -> None:
        self.app = app
        self.settings = settings
        self.admin_routes = admin_routes
        self.rate = parse(settings.rate_limit)
        self.auth_failures = parse(settings.auth_failure_limit)
        self.limiter = MovingWindowRateLimiter(rate_limit_storage(settings.rate_limit_storage))
        self.open_paths = OPEN_PATHS | (DOCS_PATHS if settings.public_docs else frozenset())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = await self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, self.timed(receive), tracked_send)
        except BodyTooSlow as exc:
            if started:
                raise
            await JSONResponse({"detail": exc.detail}, status_code=exc.status_code)(scope, receive, send)

    async def refusal(self, scope: Scope) -> JSONResponse | None:
        """The response that ends the request before the app sees it, if any."""
        if scope["path"] in self.open_paths:
            return None
        client = scope["client"][0] if scope.get("client") else "unknown"
        access = access_of(self.settings, scope)
        admin = self.admin_route(scope)
        if access.checked(admin):
            # Guessing is throttled per address; a throttled address is told nothing, not even that a
            # guess was right.
            if not await self.limiter.test(self.auth_failures, "auth-failures", client):
                return await self.too_many("auth-failures", client, self.auth_failures)
            if not access.granted(admin):
                await self.limiter.hit(self.auth_failures, "auth-failures", client)
                return JSONResponse({"detail": WRONG_KEY}, status_code=401)
        bucket = bucket_of(access, client)
        if not await self.limiter.hit(self.rate, "requests", bucket):
            return await self.too_many("requests", bucket, self.rate)
        return None

    def admin_route(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] is Match.FULL for route in self.admin_routes)

    async def too_many(self, namespace: str, who: str, limit: RateLimitItem) -> JSONResponse:
        reset = (await self.limiter.get_window_stats(limit, namespace, who)).reset_time
        return JSONResponse(
            {"detail": f"rate limit of {limit} exceeded"},
            status_code=429,
            headers={"Retry-After": str(max(1, math.ceil(reset - time.time())))},
        )

    def timed(self, receive: Receive) -> Receive:
        """`receive` that bounds the time the whole body takes, from the first read on."""
        seconds = self.settings.body_timeout
        deadline: float | None = None

        async def receive_timed() -> Message:
            nonlocal deadline
            deadline = deadline or time.monotonic() + seconds
            left = None if deadline == math.inf else max(0.0, deadline - time.monotonic())
            try:
                message = await asyncio.wait_for(receive(), left)
            except TimeoutError:
                raise BodyTooSlow(seconds) from None
            if message["type"] == "http.request" and not message.get("more_body", False):
                deadline = math.inf  # the body is in; later receives only wait for a disconnect
            return message

        return receive_timed


def bucket_of(access: Access, client: str) -> str:
    """An accepted key's own bucket (hashed: keys never sit in the store), else the client address."""
    if access.accepted:
        return "key:" + hashlib.sha256(access.key.encode()).hexdigest()[:32]
    return f"address:{client}"


def rewritten_errors(
    send: Send, picks: Callable[[int], bool], rewrite: Callable[[int, bytes], tuple[int, bytes] | None]
) -> Send:
    """`send` that holds back a response whose status `picks` chooses, and sends the status and JSON body
    `rewrite` makes of its status and body instead (the response as it was when `rewrite` gives None)."""
    start: Message | None = None
    body = b""

    async def rewritten(message: Message) -> None:
        nonlocal start, body
        if message["type"] == "http.response.start" and picks(message["status"]):
            start = message
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        body += message.get("body", b"")
        if message.get("more_body"):
            return
        new = rewrite(start["status"], body)
        if new is not None:
            status, body = new
            kept = [
                (k, v) for k, v in start["headers"] if k.lower() not in (b"content-length", b"content-type")
            ]
            headers = [
                *kept,
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            start = {**start, "status": status, "headers": headers}
        await send(start)
        await send({"type": "http.response.body", "body": body})

    return rewritten


def body_cap_errors(send: Send, cap: int) -> Send:
    """`send` that turns the body cap's 413, which Starlette writes as plain text, into the API's JSON
    error naming the limit. The cap answers from outside every middleware, so this wraps the whole stack."""

    def rewrite(status: int, body: bytes) -> tuple[int, bytes] | None:
        if body.decode(errors="replace") != STARLETTE_TOO_LARGE and json_detail(body) != STARLETTE_TOO_LARGE:
            return None
        detail = f"request body is larger than the {cap:,}-byte limit (MAX_BODY_BYTES)"
        return status, json.dumps({"detail": detail}).encode()

    return rewritten_errors(send, lambda status: status == 413, rewrite)


def json_detail(body: bytes) -> object:
    """The `detail` of a JSON error body, or None when the body is not one."""
    try:
        return json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return None
