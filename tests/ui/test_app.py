"""The real Streamlit script, driven by AppTest against a real server on loopback."""

import signal
import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from rag.assistant import Assistant
from rag.settings import Settings
from server.app import create_app
from tests.conftest import free_port, open_streamlit, serve, streaming_api


def run_app(monkeypatch: pytest.MonkeyPatch, api_url: str) -> AppTest:
    return open_streamlit(monkeypatch, "app.py", api_url)


def test_chat_shows_the_answer_and_expandable_citations(monkeypatch, live_server: str) -> None:
    app = run_app(monkeypatch, live_server)
    assert "chunks indexed" in app.sidebar.success[0].value
    app.chat_input[0].set_value("What agreement did Russia and North Korea recently sign?").run()
    messages = app.chat_message
    assert [m.name for m in messages] == ["user", "assistant"]
    assert "defence pact" in messages[1].markdown[0].value
    assert "[1]" in messages[1].markdown[0].value
    assert "north-korean-troops-to-russia.txt" in messages[1].expander[0].label


def test_chat_keeps_the_conversation(monkeypatch, live_server: str) -> None:
    app = run_app(monkeypatch, live_server)
    app.chat_input[0].set_value("How many North Korean troops are part of the initial deployment?").run()
    app.chat_input[0].set_value("Who won the 2022 FIFA World Cup final?").run()
    messages = app.chat_message
    assert [m.name for m in messages] == ["user", "assistant", "user", "assistant"]
    assert "could not find" in messages[3].markdown[0].value


def test_unreachable_server_is_reported_plainly(monkeypatch) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    app = run_app(monkeypatch, dead)
    assert "unreachable" in app.sidebar.error[0].value
    app.chat_input[0].set_value("Anything?").run()
    assert "unreachable" in app.chat_message[1].error[0].value


def test_chat_sends_its_key_to_a_server_that_requires_one(monkeypatch, corpus_assistant) -> None:
    settings = Settings(_env_file=None, **(corpus_assistant.settings.model_dump() | {"api_keys": "chat-key"}))
    keyed = Assistant(
        settings,
        corpus_assistant.store,
        corpus_assistant.embedder,
        corpus_assistant.retriever,
        corpus_assistant.answerer,
    )
    with serve(create_app(assistant=keyed)) as url:
        monkeypatch.setenv("UI_API_KEY", "chat-key")
        app = run_app(monkeypatch, url)
        app.chat_input[0].set_value("How many casualties a day is Russia suffering in Ukraine?").run()
        assert "1200" in app.chat_message[1].markdown[0].value
        monkeypatch.setenv("UI_API_KEY", "wrong-key")
        app = run_app(monkeypatch, url)
        app.chat_input[0].set_value("How many casualties a day is Russia suffering in Ukraine?").run()
        assert "401" in app.chat_message[1].error[0].value


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
        assert reply.markdown[0].value.startswith("According")  # the words that did arrive
        assert "incomplete" in reply.error[0].value and "shutting down" in reply.error[0].value
    finally:
        server.kill()
        server.wait(timeout=30)
