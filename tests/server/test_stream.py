"""POST /ask/stream end to end over HTTP: citations, then tokens as they come, then the whole answer."""

import json

import httpx

from server.app import create_app
from tests.conftest import llm_assistant, serve

QUESTION = "How many casualties a day is Russia suffering in Ukraine?"


def read_events(url: str, body: dict) -> list[tuple[str, dict]]:
    events = []
    with httpx.stream("POST", f"{url}/ask/stream", json=body, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.split(":", 1)[1])))
    return events


def test_llm_answer_streams_token_by_token(corpus_assistant, fake_llm_server) -> None:
    app = create_app(assistant=llm_assistant(corpus_assistant, fake_llm_server[0], "cite-first"))
    with serve(app) as url:
        events = read_events(url, {"question": QUESTION})
    names = [name for name, _ in events]
    assert names[0] == "citations" and names[-1] == "done"
    tokens = [data["text"] for name, data in events if name == "token"]
    assert len(tokens) > 5  # really streamed, not one block
    done = events[-1][1]
    assert "".join(tokens).strip() == done["answer"]["answer"]
    offered = {c["id"] for c in events[0][1]["citations"]}
    assert {c["id"] for c in done["answer"]["citations"]} <= offered
    assert done["answer"]["answerer"] == "llm"
    assert set(done["timing"]) == {"retrieve_ms", "answer_ms", "total_ms"}


def test_extractive_answer_streams_as_one_chunk(live_server: str) -> None:
    events = read_events(live_server, {"question": QUESTION})
    assert [name for name, _ in events] == ["citations", "token", "done"]
    assert events[1][1]["text"] == events[2][1]["answer"]["answer"]
    assert events[0][1]["citations"] == events[2][1]["answer"]["citations"]


def test_stream_falls_back_when_the_llm_is_down(corpus_assistant) -> None:
    app = create_app(assistant=llm_assistant(corpus_assistant, "http://127.0.0.1:9/v1", "cite-first"))
    with serve(app) as url:
        events = read_events(url, {"question": QUESTION})
    done = events[-1][1]["answer"]
    assert "failed" in done["notice"] and "1200" in done["answer"]


def test_stream_of_an_off_topic_question_abstains(live_server: str) -> None:
    events = read_events(live_server, {"question": "Who won the 2022 FIFA World Cup final?"})
    assert events[0][1]["citations"] == [] and events[-1][1]["answer"]["abstained"]


def test_bad_question_fails_before_the_stream_starts(live_server: str) -> None:
    response = httpx.post(f"{live_server}/ask/stream", json={"question": "   "})
    assert response.status_code == 422 and response.json()["detail"] == "the question is empty"
