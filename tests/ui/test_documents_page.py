"""The operators' page, driven by AppTest against a real server with its own corpus."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from streamlit.testing.v1 import AppTest

from rag.assistant import build_assistant
from rag.corpus import run_ingestion
from server.app import create_app
from tests.conftest import free_port, make_settings, open_streamlit, serve
from ui import render

KEY = "ui-admin-key"


@pytest.fixture
def server(tmp_path: Path, owls_corpus: Path, embedder: BaseEmbedding) -> Iterator[str]:
    settings = make_settings(tmp_path / "data", corpus_dir=owls_corpus, admin_api_key=KEY)
    assistant = build_assistant(settings, embedder)
    run_ingestion(settings, assistant.store, embedder)
    with serve(create_app(assistant=assistant)) as url:
        yield url


def open_page(monkeypatch: pytest.MonkeyPatch, url: str, key: str | None = KEY) -> AppTest:
    return open_streamlit(monkeypatch, "documents.py", url, **({"ADMIN_API_KEY": key} if key else {}))


def test_page_lists_the_stored_documents(monkeypatch, server: str) -> None:
    page = open_page(monkeypatch, server)
    assert page.subheader[0].value == "In the store: 1 document"
    table = page.dataframe[0].value
    assert list(table.columns) == ["Document", "Title", "Passages", "Added or updated"]
    assert list(table["Document"]) == ["owls.md"]
    assert re.fullmatch(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d UTC", table["Added or updated"][0])


def test_page_shows_the_servers_own_upload_limit(monkeypatch, server: str) -> None:
    page = open_page(monkeypatch, server)
    assert "up to 50 MB a file" in page.caption[0].value and ".pdf" in page.caption[0].value


def test_page_says_unknown_with_the_right_command_when_the_api_is_down(monkeypatch) -> None:
    page = open_page(monkeypatch, f"http://127.0.0.1:{free_port()}")
    assert page.subheader[0].value == "In the store: unknown"
    assert "make serve" in page.error[0].value and "make run" in page.error[0].value


def test_re_ingest_button_shows_the_report(monkeypatch, server: str, owls_corpus: Path) -> None:
    (owls_corpus / "bees.txt").write_text("Bees\n\nBees dance to share where flowers are.")
    (owls_corpus / "empty.txt").write_text("")
    page = open_page(monkeypatch, server)
    page.checkbox(key="full").check().run()
    page.button[0].click().run()  # "Re-ingest the corpus"
    assert page.subheader[0].value == "In the store: 2 documents"
    report = page.markdown[-1].value
    assert "1 re-embedded" in report and " changed" not in report and "1 failed" in report
    assert render.plain("empty.txt: empty file") in page.error[0].value
    assert page.checkbox(key="full").value is False  # the next run is incremental again


def test_delete_button_removes_the_document(monkeypatch, server: str, owls_corpus: Path) -> None:
    page = open_page(monkeypatch, server)
    page.selectbox[0].select("owls.md").run()
    page.button[1].click().run()  # "Delete document…"
    assert "cannot be undone" in page.warning[0].value and (owls_corpus / "owls.md").exists()
    page.button[2].click().run()  # "Cancel"
    assert not page.warning and (owls_corpus / "owls.md").exists()
    page.button[1].click().run()
    page.button[1].click().run()  # "Yes, delete"
    assert page.subheader[0].value == "In the store: 0 documents"
    assert page.success[0].value == f"Deleted “{render.plain('owls.md')}”."
    assert not (owls_corpus / "owls.md").exists()


def test_writes_without_the_admin_key_are_refused_plainly(monkeypatch, server: str) -> None:
    monkeypatch.delenv("ADMIN_API_KEY", raising=False)
    page = open_page(monkeypatch, server, key=None)
    page.button[0].click().run()
    assert "key" in page.error[0].value and "401" not in page.error[0].value
