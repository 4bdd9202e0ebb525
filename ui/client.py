"""The UI's only way to the product: the HTTP API."""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT_SECONDS = 60.0


class ServerUnreachable(Exception):
    """The API did not answer at all."""


class ServerError(Exception):
    """The API answered with an error status."""


def ask(api_url: str, question: str, history: list[dict[str, str]]) -> dict[str, Any]:
    """POST /ask; the JSON answer with its citations."""
    return _post(api_url, "/ask", {"question": question, "history": history})


def health(api_url: str) -> dict[str, Any]:
    """GET /health."""
    try:
        response = httpx.get(f"{api_url.rstrip('/')}/health", timeout=5.0)
    except httpx.HTTPError as exc:
        raise ServerUnreachable(str(exc)) from exc
    return _json(response)


def _post(api_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        response = httpx.post(f"{api_url.rstrip('/')}{path}", json=body, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise ServerUnreachable(str(exc)) from exc
    return _json(response)


def _json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise ServerError(f"{response.status_code}: {detail}")
    return response.json()
