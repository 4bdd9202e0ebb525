"""What routes depend on: the one assistant of the process, and the key checks."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from rag.assistant import Assistant

# Probes must work without a key, and a browser cannot send one to the docs page.
OPEN_PATHS = frozenset({"/health", "/ready", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


def current_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


AssistantDep = Annotated[Assistant, Depends(current_assistant)]


def given_key(request: Request) -> str | None:
    """The key a client sent, as `X-API-Key` or `Authorization: Bearer`."""
    key = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    return key or None


def _matches(given: str | None, keys: list[str]) -> bool:
    # Compare with every key in constant time, so timing reveals neither a key nor which matched.
    found = False
    for key in keys:
        found |= hmac.compare_digest((given or "").encode(), key.encode())
    return found and given is not None


def require_api_key(request: Request) -> None:
    """Every request but the probes needs a key when API_KEYS is set; the admin key also counts."""
    settings = current_assistant(request).settings
    keys = settings.api_key_list
    if not keys or request.url.path in OPEN_PATHS:
        return
    if settings.admin_api_key:
        keys = [*keys, settings.admin_api_key.get_secret_value()]
    if not _matches(given_key(request), keys):
        raise HTTPException(status_code=401, detail="missing or wrong API key")


def require_admin(request: Request) -> None:
    """Writes need the admin key when ADMIN_API_KEY is set."""
    expected = current_assistant(request).settings.admin_api_key
    if expected is not None and not _matches(given_key(request), [expected.get_secret_value()]):
        raise HTTPException(status_code=401, detail="missing or wrong API key")
