"""The operators' page, driven by AppTest against a real server with its own corpus."""

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
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


def when_ingested(page: AppTest, url: str) -> AppTest:
    """The page run again once the server runs no ingestion job (as its poll would find it)."""
    deadline = time.monotonic() + 120
    while any(job["status"] == "running" for job in httpx.get(f"{url}/ingest/jobs").json()):
        assert time.monotonic() < deadline, "the ingestion did not end"
        time.sleep(0.2)
    return page.run()


def last_report(page: AppTest) -> str:
    """The counts line of the "Last ingestion" section, the page's last."""
    assert page.subheader[-1].value.startswith("Last ingestion")
    return page.markdown[-1].value


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
    port = free_port()
    page = open_page(monkeypatch, f"http://127.0.0.1:{port}")
    assert page.subheader[0].value == "In the store: unknown"
    assert (
        f"make serve API_PORT={port}" in page.error[0].value
        and f"make run API_PORT={port}" in page.error[0].value
    )


def test_re_ingest_button_shows_the_report(monkeypatch, server: str, owls_corpus: Path) -> None:
    (owls_corpus / "bees.txt").write_text("Bees\n\nBees dance to share where flowers are.")
    (owls_corpus / "empty.txt").write_text("")
    page = open_page(monkeypatch, server)
    page.checkbox(key="full").check().run()
    page.button[0].click().run()  # "Re-ingest the corpus"
    when_ingested(page, server)
    assert page.subheader[0].value == "In the store: 2 documents"
    assert page.subheader[-1].value == "Last ingestion from this page (full rebuild)"
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


def test_a_running_ingestion_shows_its_progress_then_its_report(
    monkeypatch, server: str, owls_corpus: Path
) -> None:
    for i in range(40):
        facts = " ".join(f"Hive {i} keeps {j} queens in room {i + j}." for j in range(6))
        (owls_corpus / f"hive{i:02d}.txt").write_text(f"Hive {i}\n\n{facts}")
    page = open_page(monkeypatch, server)
    page.button[0].click().run()  # "Re-ingest the corpus": the job starts, the page follows it
    [bar] = page.progress
    assert re.fullmatch(
        r"Comparing the corpus folder with the store…|\d+ of 41 documents · .* passages? written .*", bar.text
    )
    assert page.button[0].disabled  # one ingestion at a time
    when_ingested(page, server)
    assert not page.progress and not page.button[0].disabled
    assert page.subheader[0].value == "In the store: 41 documents"
    assert last_report(page).startswith("40 added · 0 changed · 1 unchanged")


def test_the_page_shows_an_ingestion_started_elsewhere(monkeypatch, server: str, owls_corpus: Path) -> None:
    (owls_corpus / "bees.txt").write_text("Bees\n\nBees dance to share where flowers are.")
    job = httpx.post(f"{server}/ingest/jobs", headers={"X-API-Key": KEY}).json()
    page = when_ingested(open_page(monkeypatch, server), server)
    assert page.subheader[0].value == "In the store: 2 documents"
    assert last_report(page).startswith("1 added · 0 changed · 1 unchanged")
    assert page.subheader[-1].value == "Last ingestion job on the server"  # followed, not started, here
    assert "Started elsewhere" in page.caption[-1].value
    assert httpx.get(f"{server}/ingest/jobs/{job['id']}").json()["status"] == "done"


def test_a_two_file_upload_is_summed_up_as_one_ingestion(monkeypatch, server: str) -> None:
    page = open_page(monkeypatch, server)
    page.file_uploader[0].set_value(
        [
            ("bees.txt", b"Bees\n\nBees dance to share where flowers are.", "text/plain"),
            ("cats.txt", b"Cats\n\nCats sleep for most of the day.", "text/plain"),
        ]
    ).run()
    page.button[0].click().run()  # "Upload and ingest"
    assert [s.value for s in page.success] == [
        render.plain("bees.txt: added"),
        render.plain("cats.txt: added"),
    ]
    report = last_report(page)
    assert report.startswith("2 added · 0 changed · 1 unchanged · 0 removed · 0 failed · 2 passages written")


def test_an_upload_summary_counts_the_files_the_server_refused(monkeypatch, server: str) -> None:
    page = open_page(monkeypatch, server)
    page.file_uploader[0].set_value(
        [
            ("bees.txt", b"Bees\n\nBees dance to share where flowers are.", "text/plain"),
            ("empty.md", b"", "text/markdown"),
        ]
    ).run()
    page.button[0].click().run()  # "Upload and ingest"
    assert page.success[0].value == render.plain("bees.txt: added")
    assert page.error[0].value.startswith(render.plain("empty.md: failed: "))
    assert last_report(page).startswith("1 added · 0 changed · 1 unchanged · 0 removed · 1 failed")
    assert page.subheader[-1].value == "Last ingestion from this page"


def test_a_fresh_page_labels_an_earlier_job_as_the_servers_not_its_own(
    monkeypatch, server: str, owls_corpus: Path
) -> None:
    job = httpx.post(f"{server}/ingest/jobs", json={"full": True}, headers={"X-API-Key": KEY}).json()
    page = when_ingested(open_page(monkeypatch, server), server)
    assert page.subheader[-1].value == "Last ingestion job on the server (full rebuild)"
    finished = httpx.get(f"{server}/ingest/jobs/{job['id']}").json()["finished_at"]
    assert "Started elsewhere" in page.caption[-1].value
    assert render.human_time(finished) in page.caption[-1].value
    page.file_uploader[0].set_value([("cats.txt", b"Cats\n\nCats sleep all day.", "text/plain")]).run()
    page.button[0].click().run()  # "Upload and ingest": this page's own run replaces the server's
    assert page.subheader[-1].value == "Last ingestion from this page"
    assert last_report(page).startswith("1 added · 0 changed · 1 unchanged")
    (owls_corpus / "bees.txt").write_text("Bees\n\nBees dance to share where flowers are.")
    httpx.post(f"{server}/ingest/jobs", headers={"X-API-Key": KEY}).raise_for_status()
    when_ingested(page, server)
    assert page.subheader[-1].value == "Last ingestion from this page"  # a later curl job is not its own
