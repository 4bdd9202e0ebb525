"""The UI's only way to the product: the HTTP API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

TIMEOUT_SECONDS = 300.0  # an upload waits for its ingestion


class ServerUnreachable(Exception):
    """The API did not answer at all."""


class ServerError(Exception):
    """The API answered with an error status."""


def ask(api_url: str, question: str, history: list[dict[str, str]]) -> dict[str, Any]:
    """POST /ask; the JSON answer with its citations."""
    return _request("POST", api_url, "/ask", json={"question": question, "history": history})


def ask_stream(api_url: str, question: str, history: list[dict[str, str]]) -> Iterator[tuple[str, Any]]:
    """POST /ask/stream: yields (event, data) pairs: citations, tokens, then done."""
    body = {"question": question, "history": history}
    try:
        with httpx.stream(
            "POST", f"{api_url.rstrip('/')}/ask/stream", json=body, timeout=TIMEOUT_SECONDS
        ) as r:
            if r.status_code >= 400:
                r.read()
                _json(r)
            event = "message"
            for line in r.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    yield event, json.loads(line.split(":", 1)[1])
    except httpx.HTTPError as exc:
        raise ServerUnreachable(str(exc)) from exc


def documents(api_url: str) -> list[dict[str, Any]]:
    """GET /documents."""
    return _request("GET", api_url, "/documents")


def upload(api_url: str, name: str, data: bytes, key: str | None) -> dict[str, Any]:
    """POST /documents: save one file into the corpus and ingest."""
    return _request("POST", api_url, "/documents", files={"file": (name, data)}, key=key)


def reingest(api_url: str, full: bool, key: str | None) -> dict[str, Any]:
    """POST /ingest; the report."""
    return _request("POST", api_url, "/ingest", json={"full": full}, key=key)


def delete(api_url: str, source: str, key: str | None) -> None:
    """DELETE /documents/{source}."""
    _request("DELETE", api_url, f"/documents/{source}", key=key)


def health(api_url: str) -> dict[str, Any]:
    """GET /health."""
    try:
        response = httpx.get(f"{api_url.rstrip('/')}/health", timeout=5.0)
    except httpx.HTTPError as exc:
        raise ServerUnreachable(str(exc)) from exc
    return _json(response)


def _request(method: str, api_url: str, path: str, key: str | None = None, **kwargs: Any) -> Any:
    headers = {"X-API-Key": key} if key else {}
    try:
        response = httpx.request(
            method, f"{api_url.rstrip('/')}{path}", headers=headers, timeout=TIMEOUT_SECONDS, **kwargs
        )
    except httpx.HTTPError as exc:
        raise ServerUnreachable(str(exc)) from exc
    return _json(response)


def _json(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise ServerError(f"{response.status_code}: {detail}")
    return response.json() if response.content else None
