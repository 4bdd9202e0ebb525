"""The UI's only way to the product: the HTTP API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from rag.settings import Settings

TIMEOUT_SECONDS = 300.0  # an upload waits for its ingestion


class ServerUnreachable(Exception):
    """The API did not answer at all."""


class ServerError(Exception):
    """The API answered with an error status."""


@dataclass(frozen=True)
class Api:
    """The API at url; reads send key, writes send admin_key (each when set)."""

    url: str
    key: str | None = None
    admin_key: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Api:
        admin = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
        reader = settings.ui_api_key.get_secret_value() if settings.ui_api_key else admin
        return cls(settings.api_url.rstrip("/"), reader, admin or reader)

    def ask_stream(self, question: str, history: list[dict[str, str]]) -> Iterator[tuple[str, Any]]:
        """POST /ask/stream: yields (event, data) pairs: citations, tokens, then done."""
        body = {"question": question, "history": history}
        try:
            with httpx.stream(
                "POST",
                f"{self.url}/ask/stream",
                json=body,
                headers=_headers(self.key),
                timeout=TIMEOUT_SECONDS,
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    _json(response)
                event = "message"
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        yield event, json.loads(line.split(":", 1)[1])
        except httpx.HTTPError as exc:
            raise ServerUnreachable(str(exc)) from exc

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/health")

    def documents(self) -> list[dict[str, Any]]:
        return self._request("GET", "/documents")

    def upload(self, name: str, data: bytes) -> dict[str, Any]:
        """Save one file into the corpus and ingest; the response holds the report."""
        return self._request("POST", "/documents", files={"file": (name, data)}, admin=True)

    def reingest(self, full: bool) -> dict[str, Any]:
        return self._request("POST", "/ingest", json={"full": full}, admin=True)

    def delete(self, source: str) -> None:
        self._request("DELETE", f"/documents/{source}", admin=True)

    def _request(self, method: str, path: str, admin: bool = False, **kwargs: Any) -> Any:
        headers = _headers(self.admin_key if admin else self.key)
        try:
            response = httpx.request(
                method, f"{self.url}{path}", headers=headers, timeout=TIMEOUT_SECONDS, **kwargs
            )
        except httpx.HTTPError as exc:
            raise ServerUnreachable(str(exc)) from exc
        return _json(response)


def _headers(key: str | None) -> dict[str, str]:
    return {"X-API-Key": key} if key else {}


def _json(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise ServerError(f"{response.status_code}: {detail}")
    return response.json() if response.content else None
