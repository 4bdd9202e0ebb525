import re
import time

from fastapi.testclient import TestClient

from rag.answering import NOT_FOUND


def test_ask_answers_with_citations_that_match_the_markers(api: TestClient) -> None:
    response = api.post(
        "/ask", json={"question": "How many casualties a day is Russia suffering in Ukraine?"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["abstained"] is False
    assert "1200" in body["answer"]
    ids = {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])}
    assert ids == {c["id"] for c in body["citations"]}
    citation = body["citations"][0]
    assert body["answerer"] == "extractive" and body["notice"] is None
    assert set(citation) == {
        "id",
        "source",
        "title",
        "text",
        "score",
        "chunk_id",
        "start_char",
        "end_char",
        "page",
        "section",
        "sentences",
        "quote",
    }
    assert "1200" in citation["quote"]["text"]
    for span in citation["sentences"]:
        assert citation["text"][span["start"] : span["end"]] == span["text"]
    assert citation["page"] is None  # plain text has no pages
    assert citation["source"] == "north-korean-troops-to-russia.txt"
    assert citation["end_char"] - citation["start_char"] == len(citation["text"])


def test_ask_uses_history_for_a_follow_up(api: TestClient) -> None:
    history = [
        {"role": "user", "content": "What does China accuse the West of?"},
        {"role": "assistant", "content": "Cold War thinking [1]"},
    ]
    body = api.post("/ask", json={"question": "And when is that?", "history": history}).json()
    assert not body["abstained"]


def test_off_topic_question_abstains(api: TestClient) -> None:
    body = api.post("/ask", json={"question": "Who won the 2022 FIFA World Cup final?"}).json()
    assert body == {
        "answer": NOT_FOUND,
        "citations": [],
        "abstained": True,
        "answerer": "extractive",
        "notice": None,
    }


def test_blank_and_over_long_questions_get_422_with_a_clear_message(api: TestClient) -> None:
    blank = api.post("/ask", json={"question": "  \n "})
    assert blank.status_code == 422 and blank.json()["detail"] == "the question is empty"
    long = api.post("/ask", json={"question": "x" * 5000})
    assert long.status_code == 422 and "limit is" in long.json()["detail"]
    missing = api.post("/ask", json={})
    assert missing.status_code == 422


def test_top_k_out_of_range_is_rejected(api: TestClient) -> None:
    assert api.post("/ask", json={"question": "troops?", "top_k": 0}).status_code == 422
    assert api.post("/search", json={"query": "troops", "top_k": 500}).status_code == 422


def test_search_returns_ranked_passages(api: TestClient) -> None:
    body = api.post("/search", json={"query": "defence pact", "top_k": 2}).json()
    results = body["results"]
    assert [r["rank"] for r in results] == [1, 2]
    assert "defence pact" in results[0]["text"]
    assert results[0]["score"] >= results[1]["score"] or results[0]["rank"] == 1


def test_health_reports_the_store_size(api: TestClient, corpus_assistant) -> None:
    body = api.get("/health").json()
    assert body["status"] == "ok"
    assert body["chunks"] == corpus_assistant.store.count() > 0


def test_health_says_when_the_search_indexes_of_the_current_store_are_built(api: TestClient) -> None:
    deadline = time.monotonic() + 60
    while (indexes := api.get("/health").json()["indexes"]) == "building" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert indexes == "ready"


def test_openapi_describes_every_answer_field(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()["components"]["schemas"]
    for model in ("Answer", "Citation", "AskRequest"):
        for name, field in schema[model]["properties"].items():
            assert field.get("description"), f"{model}.{name} has no description"
    assert api.get("/docs").status_code == 200
