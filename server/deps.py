"""What routes depend on: the one assistant of the process, and who the caller is (from the key)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.routing import BaseRoute
from starlette.types import Scope

from rag.assistant import Assistant
from rag.settings import Settings

OPEN_PATHS = frozenset({"/health", "/ready"})  # probes must work without a key
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
WRONG_KEY = "missing or wrong API key"  # the same 401 for a missing and a wrong key: no hint either way


def current_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


AssistantDep = Annotated[Assistant, Depends(current_assistant)]


@dataclass(frozen=True)
class Access:
    """What the key a request carries opens, under the configured keys."""

    key: str | None
    reader: bool  # the key is one of API_KEYS
    admin: bool  # the key is ADMIN_API_KEY
    keys_set: bool
    admin_set: bool

    @property
    def accepted(self) -> bool:
        """The key is a configured one (so it may have a rate-limit bucket of its own)."""
        return self.reader or self.admin

    def checked(self, admin: bool) -> bool:
        """Does a route (an admin-only one when `admin`) need a key at all?"""
        return self.keys_set or (admin and self.admin_set)

    def granted(self, admin: bool) -> bool:
        """May this request reach a route (an admin-only one when `admin`)?"""
        if admin and self.admin_set:
            return self.admin
        return not self.keys_set or self.accepted


def given_key(headers: dict[bytes, bytes]) -> str | None:
    """The key a client sent, as `X-API-Key` or `Authorization: Bearer`."""
    key = headers.get(b"x-api-key", b"").decode("latin-1")
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    return key or None


def _matches(given: str | None, keys: list[str]) -> bool:
    # Compare with every key in constant time, so timing reveals neither a key nor which matched.
    found = False
    for key in keys:
        found |= hmac.compare_digest((given or "").encode(), key.encode())
    return found and given is not None


def access_of(settings: Settings, scope: Scope) -> Access:
    """Who the request's headers say the caller is."""
    key = given_key(dict(scope["headers"]))
    admin_key = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
    return Access(
        key=key,
        reader=_matches(key, settings.api_key_list),
        admin=admin_key is not None and _matches(key, [admin_key]),
        keys_set=bool(settings.api_key_list),
        admin_set=admin_key is not None,
    )


def require_admin(request: Request) -> None:
    """Marks a write route: the guard (server/limits.py) then wants the admin key, before the body is read;
    checked here again so the route stays closed even without the guard."""
    if not access_of(current_assistant(request).settings, request.scope).granted(admin=True):
        raise HTTPException(status_code=401, detail=WRONG_KEY)


def needs_admin(route: BaseRoute) -> bool:
    """True for routes that declare `require_admin`."""
    return any(d.dependency is require_admin for d in getattr(route, "dependencies", []))
