"""Document endpoints over HTTP: list, upload, delete, re-ingest, and the admin key."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.assistant import build_assistant
from rag.ingestion import IngestionLock
from server.app import create_app
from tests.conftest import make_settings
from tests.hostile_files import expanding_docx, inflating_pdf, paragraph

KEY = "s3cret-admin-key"
ADMIN = {"X-API-Key": KEY}


@pytest.fixture
def client(tmp_path: Path, owls_corpus: Path, embedder: BaseEmbedding) -> Iterator[TestClient]:
    settings = make_settings(
        tmp_path / "data", corpus_dir=owls_corpus, admin_api_key=KEY, max_file_bytes=50_000
    )
    assistant = build_assistant(settings, embedder)
    with TestClient(create_app(assistant=assistant)) as http:
        assert http.post("/ingest", headers=ADMIN).status_code == 200
        yield http


def test_documents_lists_what_is_stored(client: TestClient) -> None:
    [owls] = client.get("/documents").json()
    assert owls["source"] == "owls.md" and owls["title"] == "Owls" and owls["chunks"] == 1
    assert len(owls["content_hash"]) == 64 and owls["ingested_at"]


def test_writes_need_the_admin_key_and_reveal_nothing_without_it(client: TestClient) -> None:
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
        response = client.post("/ingest", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"detail": "missing or wrong API key"}
    assert client.delete("/documents/owls.md").status_code == 401
    assert client.post("/documents", files={"file": ("a.txt", b"x")}).status_code == 401
    assert client.post("/ingest", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_upload_saves_into_the_corpus_and_makes_it_answerable(client: TestClient, owls_corpus: Path) -> None:
    text = b"Bees\n\nHoney bees communicate the direction of flowers with a waggle dance."
    response = client.post("/documents", headers=ADMIN, files={"file": ("bees.txt", text, "text/plain")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["saved"] == "bees.txt" and body["report"]["added"] == ["bees.txt"]
    assert (owls_corpus / "bees.txt").read_bytes() == text
    answer = client.post("/ask", json={"question": "How do honey bees communicate?"}).json()
    assert "waggle dance" in answer["answer"]


def test_upload_with_a_path_in_its_name_cannot_escape_the_corpus(
    client: TestClient, owls_corpus: Path, tmp_path: Path
) -> None:
    for name in ("../../etc/passwd.txt", "..\\..\\evil.txt", "/tmp/abs.txt"):
        response = client.post("/documents", headers=ADMIN, files={"file": (name, b"Escape\n\nNot here.")})
        assert response.status_code == 200
        assert "/" not in response.json()["saved"] and "\\" not in response.json()["saved"]
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "passwd.txt").exists()
    assert sorted(p.name for p in owls_corpus.iterdir()) == ["abs.txt", "evil.txt", "owls.md", "passwd.txt"]


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        ("notes.exe", b"MZ", 415, "unsupported file type .exe"),
        ("..", b"x", 415, "unusable file name"),
        ("broken.pdf", b"%PDF-1.4 garbage", 422, "corrupt PDF"),
        ("empty.txt", b"", 422, "empty file"),
        ("huge.txt", b"a" * 60_000, 413, "file is larger than the 50,000-byte limit (MAX_FILE_BYTES)"),
        ("two\nlines.txt", b"Name\n\nWith a newline.", 415, "control characters"),
        ("nul\x00.txt", b"Name\n\nWith a NUL.", 415, "control characters"),
        ("n" * 300 + ".txt", b"Name\n\nToo long.", 415, "over 255 bytes long"),
    ],
    ids=["exe", "dotdot", "broken-pdf", "empty", "huge", "newline", "nul", "long-name"],
)
def test_bad_upload_is_refused_and_the_store_is_untouched(
    client: TestClient, owls_corpus: Path, name: str, content: bytes, status: int, message: str
) -> None:
    response = upload_raw(client, name, content)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert [p.name for p in owls_corpus.iterdir()] == ["owls.md"]
    assert [d["source"] for d in client.get("/documents").json()] == ["owls.md"]


def upload_raw(client: TestClient, name: str, content: bytes) -> Response:
    """Upload with the file name sent byte for byte, as a hostile client can (httpx escapes newlines)."""
    body = (
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="file"; filename="'
        + name.encode()
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + content
        + b"\r\n--BOUNDARY--\r\n"
    )
    headers = {**ADMIN, "content-type": "multipart/form-data; boundary=BOUNDARY"}
    return client.post("/documents", headers=headers, content=body)


def test_upload_of_a_decompression_bomb_is_a_422_with_the_reason(
    tmp_path: Path, owls_corpus: Path, embedder: BaseEmbedding
) -> None:
    settings = make_settings(
        tmp_path / "data", corpus_dir=owls_corpus, admin_api_key=KEY, max_document_chars=1_000_000
    )
    bombs = [
        ("bomb.pdf", inflating_pdf(), "PDF stream too large"),  # 78 KB, inflates past pypdf's limit
        ("bomb.docx", expanding_docx(paragraph("x" * 1000), 30_000), "bytes of XML"),  # 30 MB of XML
    ]
    with TestClient(create_app(assistant=build_assistant(settings, embedder))) as http:
        for name, content, reason in bombs:
            response = http.post("/documents", headers=ADMIN, files={"file": (name, content)})
            assert response.status_code == 422
            assert reason in response.json()["detail"]
        assert [p.name for p in owls_corpus.iterdir()] == ["owls.md"]
        assert http.post("/ingest", headers=ADMIN).json()["added"] == ["owls.md"]


def test_upload_refused_while_an_ingestion_runs_leaves_no_trace(
    client: TestClient, owls_corpus: Path
) -> None:
    bees = b"Bees\n\nHoney bees communicate the direction of flowers with a waggle dance."
    with IngestionLock(client.app.state.assistant.settings.data_dir):
        response = client.post("/documents", headers=ADMIN, files={"file": ("bees.txt", bees)})
    assert response.status_code == 409
    assert [p.name for p in owls_corpus.iterdir()] == ["owls.md"]
    assert client.post("/ingest", headers=ADMIN).json()["added"] == []
    assert [d["source"] for d in client.get("/documents").json()] == ["owls.md"]


def test_deleting_a_symlinked_document_removes_the_link_and_keeps_its_target(
    client: TestClient, owls_corpus: Path
) -> None:
    (owls_corpus / "link.md").symlink_to(owls_corpus / "owls.md")
    assert client.post("/ingest", headers=ADMIN).json()["added"] == ["link.md"]
    assert client.delete("/documents/link.md", headers=ADMIN).status_code == 204
    assert not (owls_corpus / "link.md").is_symlink()
    assert (owls_corpus / "owls.md").read_text().startswith("# Owls")
    assert [d["source"] for d in client.get("/documents").json()] == ["owls.md"]
    assert client.post("/ingest", headers=ADMIN).json()["unchanged"] == ["owls.md"]


def test_delete_removes_the_document_and_its_file(client: TestClient, owls_corpus: Path) -> None:
    assert client.delete("/documents/owls.md", headers=ADMIN).status_code == 204
    assert client.get("/documents").json() == []
    assert not (owls_corpus / "owls.md").exists()
    assert client.post("/ask", json={"question": "How far can owls turn their heads?"}).json()["abstained"]
    missing = client.delete("/documents/owls.md", headers=ADMIN)
    assert missing.status_code == 404 and "no document" in missing.json()["detail"]


def test_ingest_reports_changes_and_supports_a_dry_run(client: TestClient, owls_corpus: Path) -> None:
    (owls_corpus / "cats.txt").write_text("Cats\n\nCats sleep for about fifteen hours a day.")
    plan = client.post("/ingest", headers=ADMIN, json={"dry_run": True}).json()
    assert plan["added"] == ["cats.txt"] and plan["dry_run"] is True
    assert len(client.get("/documents").json()) == 1
    report = client.post("/ingest", headers=ADMIN).json()
    assert report["added"] == ["cats.txt"] and report["unchanged"] == ["owls.md"]


def test_ingest_while_another_runs_is_a_409(client: TestClient, tmp_path: Path) -> None:
    with IngestionLock(tmp_path / "data"):
        response = client.post("/ingest", headers=ADMIN)
    assert response.status_code == 409
    assert "another ingestion is running" in response.json()["detail"]


def test_after_an_ingestion_the_bm25_index_is_built_before_any_question(
    client: TestClient, owls_corpus: Path
) -> None:
    (owls_corpus / "cats.txt").write_text("Cats\n\nCats sleep for about fifteen hours a day.")
    assert client.post("/ingest", headers=ADMIN).json()["added"] == ["cats.txt"]
    assistant = client.app.state.assistant
    cache = assistant.settings.data_dir / "bm25" / assistant.store.name / assistant.store.generation()
    deadline = time.monotonic() + 30
    while not cache.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cache.exists()
