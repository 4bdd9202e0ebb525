"""Keys, limits, request ids, logs and metrics, over HTTP against the real app."""

import json
import logging

import pytest
from fastapi.testclient import TestClient

from rag.assistant import Assistant
from rag.settings import Settings
from server.app import create_app
from server.observability import configure_logging

KEYS = "team-key-1,team-key-2"
ADMIN = "admin-key"


def client_for(corpus_assistant: Assistant, **overrides: object) -> TestClient:
    settings = Settings(_env_file=None, **(corpus_assistant.settings.model_dump() | overrides))
    assistant = Assistant(
        settings,
        corpus_assistant.store,
        corpus_assistant.embedder,
        corpus_assistant.retriever,
        corpus_assistant.answerer,
    )
    return TestClient(create_app(assistant=assistant))


@pytest.fixture
def keyed(corpus_assistant: Assistant):
    with client_for(corpus_assistant, api_keys=KEYS, admin_api_key=ADMIN) as http:
        yield http


def test_every_endpoint_but_the_probes_needs_a_key(keyed: TestClient) -> None:
    assert keyed.get("/health").status_code == 200
    assert keyed.get("/ready").status_code == 200
    for method, path, body in [
        ("POST", "/ask", {"question": "troops?"}),
        ("POST", "/search", {"query": "troops"}),
        ("GET", "/documents", None),
        ("GET", "/metrics", None),
    ]:
        response = keyed.request(method, path, json=body)
        assert response.status_code == 401, path
        assert response.json() == {"detail": "missing or wrong API key"}
    ask = {"question": "How many casualties a day is Russia suffering?"}
    assert keyed.post("/ask", json=ask, headers={"X-API-Key": "team-key-2"}).status_code == 200
    assert keyed.post("/ask", json=ask, headers={"Authorization": "Bearer team-key-1"}).status_code == 200
    assert keyed.post("/ask", json=ask, headers={"X-API-Key": "team-key-3"}).status_code == 401


def test_writes_need_the_admin_key_not_a_team_key(keyed: TestClient) -> None:
    team = {"X-API-Key": "team-key-1"}
    assert keyed.post("/ingest", headers=team, json={"dry_run": True}).status_code == 401
    admin = {"X-API-Key": ADMIN}
    assert keyed.post("/ingest", headers=admin, json={"dry_run": True}).status_code == 200


def test_rate_limit_answers_429_with_retry_after(corpus_assistant: Assistant) -> None:
    with client_for(corpus_assistant, rate_limit="3/minute") as http:
        statuses = [http.post("/search", json={"query": "troops"}).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = http.post("/search", json={"query": "troops"})
        assert 0 < int(limited.headers["Retry-After"]) <= 60
        assert "rate limit" in limited.json()["detail"]
        assert http.get("/health").status_code == 200  # probes are never limited


def test_over_large_body_is_refused_with_413_in_json_naming_the_limit(corpus_assistant: Assistant) -> None:
    body = json.dumps({"question": "x" * 2000}).encode()
    with client_for(corpus_assistant, max_body_bytes=1000) as http:
        with_length = http.post("/ask", content=body, headers={"Content-Type": "application/json"})
        chunked = http.post(
            "/ask", content=iter([body[:500], body[500:]]), headers={"Content-Type": "application/json"}
        )
    for response in (with_length, chunked):
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "detail": "request body is larger than the 1,000-byte limit (MAX_BODY_BYTES)"
        }


def test_request_id_is_echoed_or_made(api: TestClient) -> None:
    assert api.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    assert len(api.get("/health").headers["X-Request-ID"]) == 32


def test_metrics_count_requests_stages_and_chunks(api: TestClient, corpus_assistant: Assistant) -> None:
    api.post("/ask", json={"question": "How many casualties a day is Russia suffering?"})
    text = api.get("/metrics").text
    assert 'rag_requests_total{endpoint="/ask",method="POST",status="200"}' in text
    assert 'rag_stage_seconds_count{stage="retrieve"}' in text
    assert 'rag_stage_seconds_count{stage="answer"}' in text
    assert f"rag_chunks_in_store {float(corpus_assistant.store.count())}" in text
    assert "rag_request_seconds_bucket" in text


def test_metrics_count_ingestion_runs(keyed: TestClient) -> None:
    admin = {"X-API-Key": ADMIN}
    keyed.post("/ingest", headers=admin, json={"dry_run": True})
    assert 'rag_ingestion_runs_total{outcome="ok"} 1.0' in keyed.get("/metrics", headers=admin).text


def test_cors_is_off_by_default_and_follows_settings(api: TestClient, corpus_assistant: Assistant) -> None:
    preflight = {"Origin": "https://intranet.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in api.options("/ask", headers=preflight).headers
    with client_for(corpus_assistant, cors_origins="https://intranet.example") as http:
        response = http.options("/ask", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://intranet.example"


def test_logs_are_one_json_line_per_request_with_its_timings_and_no_question_text(
    api: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging(log_format="json")
    try:
        api.post(
            "/ask",
            json={"question": "What secret plans do the troops have?"},
            headers={"X-Request-ID": "r-1"},
        )
    finally:
        logging.getLogger().handlers = []
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    mine = [line for line in lines if line["request_id"] == "r-1"]
    assert len(mine) == 1
    assert mine[0]["path"] == "/ask" and mine[0]["status"] == 200
    assert "retrieve_ms" in mine[0] and "answer_ms" in mine[0] and mine[0]["abstained"] in (True, False)
    assert all("secret plans" not in json.dumps(line) for line in lines)


def test_readable_logs_put_a_streamed_answer_on_one_plain_line(
    api: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging(log_format="text")
    try:
        api.post("/ask/stream", json={"question": "How many troops?"}, headers={"X-Request-ID": "r-2"})
    finally:
        logging.getLogger().handlers = []
    lines = [line for line in capfd.readouterr().err.splitlines() if "[r-2]" in line]
    assert len(lines) == 1, lines
    assert "POST /ask/stream 200" in lines[0] and "retrieve_ms=" in lines[0]
    assert "\x1b[" not in lines[0] and not lines[0].startswith("{")
