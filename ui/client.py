"""The UI's only way to the product: the HTTP API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from rag.settings import Settings
from ui.render import failure_message

TIMEOUT_SECONDS = 300.0  # an upload waits for its ingestion


class ServerUnreachable(Exception):
    """The API did not answer at all."""


class ServerError(Exception):
    """The API answered with an error status; the message is the server's own words, without the code."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


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

    def explain(self, exc: ServerError | ServerUnreachable) -> str:
        """Why a call failed, in words for the reader: no status codes, and the command that helps."""
        if isinstance(exc, ServerError):
            return failure_message(exc.status, exc.detail)
        # The chat's own address in the command: a bare `make serve` starts the API on the default port.
        address = httpx.URL(self.url)
        where = f"API_PORT={address.port or (443 if address.scheme == 'https' else 80)}"
        if address.host not in ("127.0.0.1", "localhost"):
            where = f"HOST={address.host} {where}"
        return (
            f"The server at {self.url} is unreachable. Start the API there with `make serve {where}` "
            f"(or the API and the chat together with `make run {where}`)."
        )

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/health")

    def config(self) -> dict[str, Any]:
        """The server's public settings: limits and file types."""
        return self._request("GET", "/config")

    def conversations(self) -> list[dict[str, Any]]:
        return self._request("GET", "/conversations")

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        return self._request("GET", f"/conversations/{conversation_id}")

    def new_conversation(self) -> dict[str, Any]:
        return self._request("POST", "/conversations")

    def rename_conversation(self, conversation_id: str, title: str) -> dict[str, Any]:
        return self._request("PATCH", f"/conversations/{conversation_id}", json={"title": title})

    def delete_conversation(self, conversation_id: str) -> None:
        self._request("DELETE", f"/conversations/{conversation_id}")

    def add_exchange(self, conversation_id: str, question: str, answer: dict[str, Any]) -> dict[str, Any]:
        """Keep a question and its answer in the conversation; returns the exchange with its id."""
        body = {"question": question, "answer": answer}
        return self._request("POST", f"/conversations/{conversation_id}/exchanges", json=body)

    def give_feedback(
        self, conversation_id: str, exchange_id: int, rating: str, comment: str | None = None
    ) -> None:
        path = f"/conversations/{conversation_id}/exchanges/{exchange_id}/feedback"
        self._request("PUT", path, json={"rating": rating, "comment": comment or None})

    def feedback_jsonl(self) -> str:
        """All feedback as evaluation questions, one JSON object a line."""
        headers = _headers(self.admin_key)
        try:
            response = httpx.get(f"{self.url}/feedback.jsonl", headers=headers, timeout=TIMEOUT_SECONDS)
        except httpx.HTTPError as exc:
            raise ServerUnreachable(str(exc)) from exc
        if response.status_code >= 400:
            _json(response)
        return response.text

    def documents(self) -> list[dict[str, Any]]:
        return self._request("GET", "/documents")

    def upload(self, name: str, data: bytes) -> dict[str, Any]:
        """Save one file into the corpus and ingest; the response holds the report."""
        return self._request("POST", "/documents", files={"file": (name, data)}, admin=True)

    def start_ingestion(self, full: bool) -> dict[str, Any]:
        """Start re-ingesting the corpus folder as a job; answers at once with the job."""
        return self._request("POST", "/ingest/jobs", json={"full": full}, admin=True)

    def ingestion(self, job_id: str) -> dict[str, Any]:
        """An ingestion job: its progress while it runs, then its report or error."""
        return self._request("GET", f"/ingest/jobs/{job_id}")

    def ingestions(self) -> list[dict[str, Any]]:
        """Recent ingestion jobs, newest first."""
        return self._request("GET", "/ingest/jobs")

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
        raise ServerError(response.status_code, str(detail))
    return response.json() if response.content else None
