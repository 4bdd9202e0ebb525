"""Document endpoints over HTTP: list, upload, delete, re-ingest, and the admin key."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.assistant import build_assistant
from rag.ingestion import IngestionLock
from server.app import create_app
from tests.conftest import make_settings

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
        ("huge.txt", b"a" * 60_000, 413, "the limit is 50,000"),
    ],
)
def test_bad_upload_is_refused_and_the_store_is_untouched(
    client: TestClient, owls_corpus: Path, name: str, content: bytes, status: int, message: str
) -> None:
    response = client.post("/documents", headers=ADMIN, files={"file": (name, content)})
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert [p.name for p in owls_corpus.iterdir()] == ["owls.md"]
    assert [d["source"] for d in client.get("/documents").json()] == ["owls.md"]


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
