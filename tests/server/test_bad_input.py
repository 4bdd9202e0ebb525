"""Text and numbers no one should send: refused at once with 422, before any model sees them."""

import json
import time

import pytest
from fastapi.testclient import TestClient

# json.dumps writes a lone surrogate as the escape "\ud800", which every JSON parser reads back as one.
LONE = "\ud800"
QUESTION = "How many casualties a day is Russia suffering?"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/ask", {"question": f"troops {LONE}"}),
        ("/ask/stream", {"question": f"troops {LONE}"}),
        ("/search", {"query": f"troops {LONE}"}),
        ("/ask", {"question": "And them?", "history": [{"role": "user", "content": f"troops {LONE}"}]}),
    ],
    ids=["ask", "stream", "search", "history"],
)
def test_a_lone_surrogate_is_refused_with_422_at_once(api: TestClient, path: str, body: dict) -> None:
    started = time.perf_counter()
    response = api.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "not valid Unicode" in response.json()["detail"]
    assert time.perf_counter() - started < 1  # no retries inside the embedding library


def test_a_history_over_the_character_cap_is_refused_at_once(api: TestClient) -> None:
    history = [{"role": "user", "content": "troops " * 3_000_000}]  # 21 MB, as in the attack
    started = time.perf_counter()
    response = api.post("/ask", json={"question": "And then?", "history": history})
    assert response.status_code == 422
    assert "limit is 20000" in response.json()["detail"]
    assert time.perf_counter() - started < 5


def test_a_history_over_the_turn_cap_is_refused(api: TestClient) -> None:
    history = [{"role": "user", "content": "troops?"}] * 21
    response = api.post("/ask", json={"question": QUESTION, "history": history})
    assert response.status_code == 422
    assert "the limit is 20" in response.json()["detail"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "2.5", '"three"'])
def test_top_k_that_is_no_whole_number_gets_422(api: TestClient, number: str) -> None:
    body = f'{{"query": "troops", "top_k": {number}}}'
    response = api.post("/search", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "top_k"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/ask", {"question": QUESTION, "top_k": "5"}, "top_k"),
        ("/ask", {"question": QUESTION, "top_k": True}, "top_k"),
        ("/ask/stream", {"question": QUESTION, "top_k": "5"}, "top_k"),
        ("/search", {"query": "troops", "top_k": True}, "top_k"),
        ("/ingest", {"full": "yes"}, "full"),
        ("/ingest", {"dry_run": 1}, "dry_run"),
        ("/ingest/jobs", {"full": "true"}, "full"),
    ],
    ids=[
        "ask-top_k-string",
        "ask-top_k-bool",
        "stream-top_k-string",
        "search-top_k-bool",
        "ingest-full-yes",
        "ingest-dry_run-1",
        "ingest-job-full-string",
    ],
)
def test_a_value_of_the_wrong_json_type_gets_422_and_starts_nothing(
    api: TestClient, path: str, body: dict, field: str
) -> None:
    jobs_before = api.get("/ingest/jobs").json()
    response = api.post(path, json=body)
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", field]
    assert error["msg"] in ("Input should be a valid integer", "Input should be a valid boolean")
    assert api.get("/ingest/jobs").json() == jobs_before  # no re-embedding started
