"""Conversations and feedback over the real API, stored in SQLite under DATA_DIR."""

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from rag.assistant import Assistant
from rag.eval import load_questions
from rag.settings import Settings
from server.app import create_app

QUESTION = "How many casualties a day is Russia suffering in Ukraine?"


def ask_in(api: TestClient, conversation_id: str, question: str, **headers: str) -> dict:
    answer = api.post("/ask", json={"question": question}, headers=headers).json()
    response = api.post(
        f"/conversations/{conversation_id}/exchanges",
        json={"question": question, "answer": answer},
        headers=headers,
    )
    assert response.status_code == 201
    return response.json()


def test_a_conversation_is_named_after_its_first_question_and_kept(api: TestClient) -> None:
    created = api.post("/conversations").json()
    exchange = ask_in(api, created["id"], QUESTION)
    ask_in(api, created["id"], "Who won the 2022 FIFA World Cup?")
    listed = api.get("/conversations").json()
    assert listed[0]["id"] == created["id"] and listed[0]["title"] == QUESTION
    stored = api.get(f"/conversations/{created['id']}").json()
    assert [e["question"] for e in stored["exchanges"]] == [QUESTION, "Who won the 2022 FIFA World Cup?"]
    assert stored["exchanges"][0]["id"] == exchange["id"]
    assert "1200" in stored["exchanges"][0]["answer"]["answer"]
    assert stored["exchanges"][1]["answer"]["abstained"] is True


def test_rename_and_delete_a_conversation(api: TestClient) -> None:
    created = api.post("/conversations", json={"title": "Draft"}).json()
    assert api.patch(f"/conversations/{created['id']}", json={"title": "Troops"}).json()["title"] == "Troops"
    assert api.patch(f"/conversations/{created['id']}", json={"title": "   "}).status_code == 422
    assert api.delete(f"/conversations/{created['id']}").status_code == 204
    assert api.get(f"/conversations/{created['id']}").status_code == 404
    assert created["id"] not in [c["id"] for c in api.get("/conversations").json()]


def test_unknown_conversation_is_404_with_a_plain_detail(api: TestClient) -> None:
    response = api.get("/conversations/nope")
    assert response.status_code == 404 and "no conversation" in response.json()["detail"]


def test_feedback_is_exported_in_the_evaluation_format(api: TestClient, tmp_path) -> None:
    created = api.post("/conversations").json()
    good = ask_in(api, created["id"], QUESTION)
    abstained = ask_in(api, created["id"], "Who won the 2022 FIFA World Cup?")
    url = f"/conversations/{created['id']}/exchanges"
    assert api.put(f"{url}/{good['id']}/feedback", json={"rating": "up"}).status_code == 204
    assert (
        api.put(
            f"{url}/{abstained['id']}/feedback", json={"rating": "down", "comment": "ask Google"}
        ).status_code
        == 204
    )
    assert api.put(f"{url}/999999/feedback", json={"rating": "up"}).status_code == 404
    assert api.put(f"{url}/{good['id']}/feedback", json={"rating": "meh"}).status_code == 422
    stored = api.get(f"/conversations/{created['id']}").json()["exchanges"]
    assert stored[0]["feedback"] == {"rating": "up", "comment": None}

    export = api.get("/feedback.jsonl")
    assert export.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in export.text.splitlines()]
    mine = {r["question"]: r for r in rows[-2:]}
    assert (
        mine[QUESTION]["answerable"] is True
        and mine[QUESTION]["source"] == "north-korean-troops-to-russia.txt"
    )
    assert any("1200" in a for a in mine[QUESTION]["answers"])
    down = mine["Who won the 2022 FIFA World Cup?"]
    assert down["needs_review"] is True and down["comment"] == "ask Google"
    path = tmp_path / "feedback.jsonl"
    path.write_text(export.text)
    questions = {q.question: q for q in load_questions(path)}
    assert (
        questions[QUESTION].answerable and questions[QUESTION].source == "north-korean-troops-to-russia.txt"
    )


def test_feedback_outlives_its_deleted_conversation(api: TestClient) -> None:
    created = api.post("/conversations").json()
    exchange = ask_in(api, created["id"], "What agreement did Russia and North Korea recently sign?")
    api.put(f"/conversations/{created['id']}/exchanges/{exchange['id']}/feedback", json={"rating": "up"})
    api.delete(f"/conversations/{created['id']}")
    questions = [json.loads(line)["question"] for line in api.get("/feedback.jsonl").text.splitlines()]
    assert "What agreement did Russia and North Korea recently sign?" in questions


@pytest.fixture
def keyed_api(corpus_assistant: Assistant, tmp_path) -> Iterator[TestClient]:
    values = corpus_assistant.settings.model_dump() | {
        "api_keys": "alice,bob",
        "admin_api_key": "admin",
        "data_dir": tmp_path / "data",
    }
    settings = Settings(_env_file=None, **values)
    keyed = Assistant(
        settings,
        corpus_assistant.store,
        corpus_assistant.embedder,
        corpus_assistant.retriever,
        corpus_assistant.answerer,
    )
    with TestClient(create_app(assistant=keyed)) as client:
        yield client


def test_each_key_sees_only_its_own_conversations(keyed_api: TestClient) -> None:
    alice, bob = {"X-API-Key": "alice"}, {"X-API-Key": "bob"}
    mine = keyed_api.post("/conversations", json={"title": "Alice's"}, headers=alice).json()
    assert [c["title"] for c in keyed_api.get("/conversations", headers=alice).json()] == ["Alice's"]
    assert keyed_api.get("/conversations", headers=bob).json() == []
    assert keyed_api.get(f"/conversations/{mine['id']}", headers=bob).status_code == 404
    assert keyed_api.delete(f"/conversations/{mine['id']}", headers=bob).status_code == 404
    assert keyed_api.get(f"/conversations/{mine['id']}", headers=alice).status_code == 200
    assert keyed_api.get("/feedback.jsonl", headers=alice).status_code == 401
    assert keyed_api.get("/feedback.jsonl", headers={"X-API-Key": "admin"}).status_code == 200


def test_public_config_shows_the_servers_limits(api: TestClient, corpus_assistant: Assistant) -> None:
    config = api.get("/config").json()
    assert config["max_file_bytes"] == corpus_assistant.settings.max_file_bytes
    assert "pdf" in config["file_types"] and "md" in config["file_types"]
    assert config["admin_key_required"] is False


def test_docs_page_references_no_external_url(api: TestClient) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert not re.findall(r"https?://", page.text)
    urls = re.findall(r"""(?:src|href|url)\s*[=:(]\s*['"]?([^'")\s>]+)""", page.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    for url in urls:
        assert api.get(url).status_code == 200, url
