"""The real Streamlit script, driven by AppTest against a real server on loopback."""

import re
import signal
import threading
import time
from collections import Counter

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from streamlit.testing.v1 import AppTest

from rag.assistant import Assistant, build_assistant
from rag.settings import Settings
from server.app import create_app
from tests.conftest import (
    ROOT,
    free_port,
    llm_assistant,
    make_settings,
    open_streamlit,
    serve,
    streaming_api,
)


def reconfigured(assistant: Assistant, **changes: object) -> Assistant:
    """The same store, model and answerer under changed settings (keys, rate limit)."""
    settings = Settings(_env_file=None, **(assistant.settings.model_dump() | changes))
    return Assistant(settings, assistant.store, assistant.embedder, assistant.retriever, assistant.answerer)


def run_app(monkeypatch: pytest.MonkeyPatch, api_url: str) -> AppTest:
    return open_streamlit(monkeypatch, "chat.py", api_url)


def test_chat_shows_the_answer_with_linked_markers_and_highlighted_citations(
    monkeypatch, live_server: str
) -> None:
    app = run_app(monkeypatch, live_server)
    assert "passages indexed" in app.sidebar.success[0].value
    app.chat_input[0].set_value("What agreement did Russia and North Korea recently sign?").run()
    messages = app.chat_message
    assert [m.name for m in messages] == ["user", "assistant"]
    answer, cards = messages[1].html[0].value, messages[1].html[1].value
    assert "defence pact" in answer
    assert re.search(r'<a class="qa-ref" href="#(x\d+-cite-1)"', answer)
    anchor = re.search(r'href="#([^"]+)"', answer).group(1)
    assert f'id="{anchor}"' in cards
    assert "north-korean-troops-to-russia.txt" in cards
    assert re.search(r"<mark>(<strong>)?[^<]*defence pact", cards)  # the sentence, the answer in bold


def test_chat_keeps_the_conversation(monkeypatch, live_server: str) -> None:
    app = run_app(monkeypatch, live_server)
    app.chat_input[0].set_value("How many North Korean troops are part of the initial deployment?").run()
    app.chat_input[0].set_value("Who won the 2022 FIFA World Cup final?").run()
    messages = app.chat_message
    assert [m.name for m in messages] == ["user", "assistant", "user", "assistant"]
    assert "Not in the documents" in messages[3].html[0].value
    assert "could not find" in messages[3].html[0].value and "rephrasing" in messages[3].html[0].value


def test_unreachable_server_is_reported_plainly_with_the_command_for_its_own_port(monkeypatch) -> None:
    port = free_port()
    dead = f"http://127.0.0.1:{port}"
    app = run_app(monkeypatch, dead)
    assert "unreachable" in app.sidebar.error[0].value
    assert dead in app.main.warning[0].value and "unreachable" in app.main.warning[0].value
    assert not any("No documents" in info.value for info in app.main.info)
    app.chat_input[0].set_value("Anything?").run()
    hint = app.chat_message[1].error[0].value
    assert "unreachable" in hint
    assert f"make serve API_PORT={port}" in hint and f"make run API_PORT={port}" in hint


def test_chat_sends_its_key_to_a_server_that_requires_one(monkeypatch, corpus_assistant) -> None:
    with serve(create_app(assistant=reconfigured(corpus_assistant, api_keys="chat-key"))) as url:
        monkeypatch.setenv("UI_API_KEY", "chat-key")
        app = run_app(monkeypatch, url)
        app.chat_input[0].set_value("How many casualties a day is Russia suffering in Ukraine?").run()
        assert "1200" in app.chat_message[1].html[0].value
        monkeypatch.setenv("UI_API_KEY", "wrong-key")
        app = run_app(monkeypatch, url)
        app.chat_input[0].set_value("How many casualties a day is Russia suffering in Ukraine?").run()
        refusal = app.chat_message[1].error[0].value
        assert "key" in refusal and "401" not in refusal


def test_empty_chat_offers_questions_made_from_the_document_titles(monkeypatch, live_server: str) -> None:
    app = run_app(monkeypatch, live_server)
    examples = [b for b in app.button if b.label.startswith("What")]
    assert examples and any("North Korean Troops To Russia" in b.label for b in examples)
    examples[0].click().run()
    assert [m.name for m in app.chat_message] == ["user", "assistant"]
    assert app.query_params["c"]


def stored_conversation(api_url: str, question: str) -> str:
    conversation = httpx.post(f"{api_url}/conversations").json()["id"]
    answer = httpx.post(f"{api_url}/ask", json={"question": question}).json()
    body = {"question": question, "answer": answer}
    httpx.post(f"{api_url}/conversations/{conversation}/exchanges", json=body).raise_for_status()
    return conversation


def test_a_conversation_in_the_address_is_resumed(monkeypatch, live_server: str) -> None:
    question = "How many casualties a day is Russia suffering in Ukraine?"
    conversation = stored_conversation(live_server, question)
    monkeypatch.setenv("API_URL", live_server)
    app = AppTest.from_file(str(ROOT / "ui" / "chat.py"), default_timeout=60)
    app.query_params["c"] = conversation
    app.run()
    assert app.chat_message[0].text[0].value == question
    assert "1200" in app.chat_message[1].html[0].value
    app.chat_message[1].feedback[0].set_value(1).run()
    stored = httpx.get(f"{live_server}/conversations/{conversation}").json()
    assert stored["exchanges"][0]["feedback"]["rating"] == "up"


def test_sidebar_renames_and_deletes_the_open_conversation(monkeypatch, live_server: str) -> None:
    conversation = stored_conversation(live_server, "Where could the troops be used?")
    monkeypatch.setenv("API_URL", live_server)
    app = AppTest.from_file(str(ROOT / "ui" / "chat.py"), default_timeout=60)
    app.query_params["c"] = conversation
    app.run()
    app.sidebar.text_input(key=f"title-{conversation}").set_value("Troops").run()
    app.sidebar.button(key="rename").click().run()
    assert httpx.get(f"{live_server}/conversations/{conversation}").json()["title"] == "Troops"
    app.sidebar.button(key="delete").click().run()
    assert "cannot be undone" in app.sidebar.warning[0].value
    app.sidebar.button(key="delete-yes").click().run()
    assert httpx.get(f"{live_server}/conversations/{conversation}").status_code == 404
    assert not app.chat_message and "deleted" in app.success[0].value


def test_an_llm_answer_shows_with_linked_citations(monkeypatch, corpus_assistant, fake_llm_server) -> None:
    app_under_test = create_app(assistant=llm_assistant(corpus_assistant, fake_llm_server[0], "cite-first"))
    with serve(app_under_test) as url:
        app = run_app(monkeypatch, url)
        app.chat_input[0].set_value("How many casualties a day is Russia suffering in Ukraine?").run()
    answer = app.chat_message[1].html[0].value
    assert "According to the documents" in answer and 'class="qa-ref"' in answer
    assert 'class="qa-card"' in app.chat_message[1].html[1].value


def test_a_fallback_notice_is_shown_beside_the_answer(monkeypatch, corpus_assistant, fake_llm_server) -> None:
    app_under_test = create_app(assistant=llm_assistant(corpus_assistant, fake_llm_server[0], "no-cite"))
    with serve(app_under_test) as url:
        app = run_app(monkeypatch, url)
        app.chat_input[0].set_value("How many casualties a day is Russia suffering in Ukraine?").run()
    assert "1200" in app.chat_message[1].html[0].value
    assert app.chat_message[1].warning[0].value


def test_the_app_opens_on_the_chat_page(monkeypatch, live_server: str) -> None:
    app = open_streamlit(monkeypatch, "app.py", live_server)
    assert app.title[0].value == "Ask your documents"
    assert app.chat_input


def test_chat_says_when_the_server_cut_an_answer_short(monkeypatch, tmp_path, fake_llm_server) -> None:
    server, url = streaming_api(tmp_path, fake_llm_server[0], "drip-1.5", grace="1")
    asked = len(fake_llm_server[1].state.requests)

    def stop_mid_answer() -> None:  # SIGTERM once the model has started to answer
        deadline = time.monotonic() + 60
        while len(fake_llm_server[1].state.requests) == asked and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)
        server.send_signal(signal.SIGTERM)

    try:
        app = run_app(monkeypatch, url)
        threading.Thread(target=stop_mid_answer, daemon=True).start()
        app.chat_input[0].set_value("At what temperature is green tea steeped?").run()
        reply = app.chat_message[1]
        assert "According" in reply.html[0].value  # the words that did arrive stay
        assert "incomplete" in reply.error[0].value and "shutting down" in reply.error[0].value
    finally:
        server.kill()
        server.wait(timeout=30)


def requests_served(url: str) -> Counter[str]:
    """What the server at url was asked, from its own metrics: "METHOD /path" -> count (probes left out)."""
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text):
        for sample in family.samples:
            if sample.name == "rag_requests_total" and sample.labels["endpoint"] not in (
                "/health",
                "/metrics",
            ):
                counts[f"{sample.labels['method']} {sample.labels['endpoint']}"] += int(sample.value)
    return counts


def test_a_question_up_to_the_servers_limit_is_answered_and_a_longer_one_refused_unsent(
    monkeypatch, live_server: str
) -> None:
    monkeypatch.setenv("MAX_QUESTION_CHARS", "120")  # the chat's own setting: the server's (1000) wins
    app = run_app(monkeypatch, live_server)
    assert not app.chat_input[0].proto.max_chars  # the box takes any paste; a cap would drop it silently
    at_limit = "How many North Korean troops are part of the initial deployment?".ljust(1000, "?")
    app.chat_input[0].set_value(at_limit).run()
    assert not app.chat_message[1].error and app.chat_message[1].html
    asked = requests_served(live_server)["POST /ask/stream"]
    too_long = at_limit + "!"
    app.chat_input[0].set_value(too_long).run()
    question, reply = app.chat_message[-2:]
    assert question.text[0].value == too_long  # still there to copy and shorten
    assert "1,001 characters" in reply.error[0].value and "up to 1,000" in reply.error[0].value
    assert requests_served(live_server)["POST /ask/stream"] == asked  # never sent


def test_a_question_of_spaces_alone_is_not_sent_and_leaves_no_empty_bubble(
    monkeypatch, live_server: str
) -> None:
    app = run_app(monkeypatch, live_server)
    asked = requests_served(live_server).get("POST /ask/stream", 0)
    app.chat_input[0].set_value("   \n  ").run()
    assert not app.chat_message and not app.error
    assert requests_served(live_server).get("POST /ask/stream", 0) == asked


def test_the_chat_keeps_its_own_question_limit_when_the_server_is_unreachable(monkeypatch) -> None:
    monkeypatch.setenv("MAX_QUESTION_CHARS", "120")
    app = run_app(monkeypatch, f"http://127.0.0.1:{free_port()}")
    app.chat_input[0].set_value("x" * 121).run()
    assert "121 characters" in app.chat_message[1].error[0].value
    assert "up to 120" in app.chat_message[1].error[0].value


def test_a_rate_limited_chat_says_so_instead_of_no_documents(monkeypatch, corpus_assistant) -> None:
    with serve(create_app(assistant=reconfigured(corpus_assistant, rate_limit="3/minute"))) as url:
        while httpx.get(f"{url}/documents").status_code != 429:
            pass
        app = run_app(monkeypatch, url)
    assert "too many requests" in app.main.warning[0].value and "try again" in app.main.warning[0].value
    assert not any("No documents" in info.value for info in app.main.info)
    assert not app.sidebar.success  # not "Connected" while the server refuses the chat
    assert "too many requests" in app.sidebar.error[0].value


def test_no_documents_yet_only_when_the_server_says_the_store_is_empty(
    monkeypatch, tmp_path, embedder
) -> None:
    empty = build_assistant(make_settings(tmp_path / "data"), embedder)
    with serve(create_app(assistant=empty)) as url:
        app = run_app(monkeypatch, url)
    assert "No documents yet" in app.main.info[0].value
    assert not app.main.warning and "Connected: 0 passages" in app.sidebar.success[0].value


def test_two_questions_cost_the_rate_limit_only_the_calls_they_need(monkeypatch, corpus_assistant) -> None:
    with serve(create_app(assistant=corpus_assistant)) as url:
        app = run_app(monkeypatch, url)
        app.chat_input[0].set_value("How many North Korean troops are part of the initial deployment?").run()
        app.chat_input[0].set_value("Where could they be sent?").run()
        served = requests_served(url)
    assert [m.name for m in app.chat_message] == ["user", "assistant"] * 2 and not app.error
    # Opening: the conversation list and the documents for example questions. Each question: its
    # answer, keeping it, and the list once more (the first also starts the conversation and reads /config).
    assert served == {
        "GET /conversations": 3,
        "GET /documents": 1,
        "GET /config": 1,
        "POST /ask/stream": 2,
        "POST /conversations": 1,
        "POST /conversations/{conversation_id}/exchanges": 2,
    }
