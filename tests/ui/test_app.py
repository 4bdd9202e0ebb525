"""The real Streamlit script, driven by AppTest against a real server on loopback."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from rag.assistant import Assistant
from rag.settings import Settings
from server.app import create_app
from tests.conftest import free_port, open_streamlit, serve


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
    assert re.search(r"<mark>[^<]*defence pact", cards)


def test_chat_keeps_the_conversation(monkeypatch, live_server: str) -> None:
    app = run_app(monkeypatch, live_server)
    app.chat_input[0].set_value("How many North Korean troops are part of the initial deployment?").run()
    app.chat_input[0].set_value("Who won the 2022 FIFA World Cup final?").run()
    messages = app.chat_message
    assert [m.name for m in messages] == ["user", "assistant", "user", "assistant"]
    assert "Not in the documents" in messages[3].html[0].value
    assert "could not find" in messages[3].html[0].value and "rephrasing" in messages[3].html[0].value


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
        assert "1200" in app.chat_message[1].html[0].value
        monkeypatch.setenv("UI_API_KEY", "wrong-key")
        app = run_app(monkeypatch, url)
        app.chat_input[0].set_value("How many casualties a day is Russia suffering in Ukraine?").run()
        refusal = app.chat_message[1].error[0].value
        assert "key" in refusal and "401" not in refusal
