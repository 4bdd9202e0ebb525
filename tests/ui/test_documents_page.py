"""The operators' page, driven by AppTest against a real server with its own corpus."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from streamlit.testing.v1 import AppTest

from rag.assistant import build_assistant
from rag.corpus import run_ingestion
from server.app import create_app
from tests.conftest import make_settings, open_streamlit, serve

KEY = "ui-admin-key"


@pytest.fixture
def server(tmp_path: Path, owls_corpus: Path, embedder: BaseEmbedding) -> Iterator[str]:
    settings = make_settings(tmp_path / "data", corpus_dir=owls_corpus, admin_api_key=KEY)
    assistant = build_assistant(settings, embedder)
    run_ingestion(settings, assistant.store, embedder)
    with serve(create_app(assistant=assistant)) as url:
        yield url


def open_page(monkeypatch: pytest.MonkeyPatch, url: str, key: str | None = KEY) -> AppTest:
    return open_streamlit(monkeypatch, "pages/documents.py", url, **({"ADMIN_API_KEY": key} if key else {}))


def test_page_lists_the_stored_documents(monkeypatch, server: str) -> None:
    page = open_page(monkeypatch, server)
    assert page.subheader[0].value == "In the store: 1 documents"
    assert list(page.dataframe[0].value["source"]) == ["owls.md"]


def test_re_ingest_button_shows_the_report(monkeypatch, server: str, owls_corpus: Path) -> None:
    (owls_corpus / "bees.txt").write_text("Bees\n\nBees dance to share where flowers are.")
    (owls_corpus / "empty.txt").write_text("")
    page = open_page(monkeypatch, server)
    page.button[0].click().run()  # "Re-ingest the corpus"
    assert page.subheader[0].value == "In the store: 2 documents"
    assert "1 added" in page.markdown[0].value and "1 failed" in page.markdown[0].value
    assert "empty.txt: empty file" in page.error[0].value


def test_delete_button_removes_the_document(monkeypatch, server: str, owls_corpus: Path) -> None:
    page = open_page(monkeypatch, server)
    page.selectbox[0].select("owls.md").run()
    page.button[1].click().run()  # "Delete document"
    assert page.subheader[0].value == "In the store: 0 documents"
    assert not (owls_corpus / "owls.md").exists()


def test_writes_without_the_admin_key_are_refused_plainly(monkeypatch, server: str) -> None:
    monkeypatch.delenv("ADMIN_API_KEY", raising=False)
    page = open_page(monkeypatch, server, key=None)
    page.button[0].click().run()
    assert "401" in page.error[0].value and "API key" in page.error[0].value
