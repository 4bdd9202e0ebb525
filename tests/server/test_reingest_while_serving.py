"""Readers during re-ingestion, over real HTTP: always one version of a document, never both or neither."""

import threading
import time
from pathlib import Path

import httpx
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.assistant import build_assistant
from server.app import create_app
from tests.conftest import make_settings, serve

VERSIONS = {
    "ALPHA": "Vault\n\nThe vault access code is ALPHA-111. The vault is opened every Monday.",
    "BRAVO": "Vault\n\nThe vault access code is BRAVO-222. The vault is opened every Friday.",
}
FILLER = "Garden\n\nTomatoes need six hours of sun a day and regular watering in summer."
SWITCHES = 12
READERS = 3


def test_questions_during_re_ingestion_see_the_old_or_the_new_version(
    tmp_path: Path, embedder: BaseEmbedding
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "vault.txt").write_text(VERSIONS["ALPHA"])
    (corpus / "garden.txt").write_text(FILLER)
    settings = make_settings(tmp_path / "data", corpus_dir=corpus, rate_limit="1000000/minute")
    assistant = build_assistant(settings, embedder)
    with serve(create_app(assistant=assistant)) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert http.post("/ingest").json()["added"] == ["garden.txt", "vault.txt"]
        done = threading.Event()
        reports: list[dict] = []

        def switch_versions() -> None:
            with httpx.Client(base_url=url, timeout=60) as writer:
                for i in range(SWITCHES):
                    (corpus / "vault.txt").write_text(VERSIONS["BRAVO" if i % 2 == 0 else "ALPHA"])
                    reports.append(writer.post("/ingest").json())
            done.set()

        thread = threading.Thread(target=switch_versions)
        thread.start()
        seen: list[str] = []
        failures: list[str] = []

        def read() -> None:
            with httpx.Client(base_url=url, timeout=30) as reader:
                deadline = time.monotonic() + 120
                while not done.is_set() and time.monotonic() < deadline:
                    search = reader.post("/search", json={"query": "vault access code", "top_k": 5})
                    if search.status_code != 200:
                        failures.append(f"/search answered {search.status_code}")
                        continue
                    vault = " ".join(
                        r["text"] for r in search.json()["results"] if r["source"] == "vault.txt"
                    )
                    versions = {v for v in VERSIONS if v in vault}
                    if len(versions) != 1:
                        failures.append(f"saw {versions or 'no version'} in {vault!r}")
                    answer = reader.post("/ask", json={"question": "What is the vault access code?"})
                    if answer.status_code != 200 or answer.json()["abstained"]:
                        failures.append(f"/ask answered {answer.status_code}: {answer.text[:200]}")
                    seen.extend(versions)

        readers = [threading.Thread(target=read) for _ in range(READERS)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        thread.join()
    assert failures == []
    assert [r["changed"] for r in reports] == [["vault.txt"]] * SWITCHES
    assert len(seen) >= SWITCHES  # the readers really overlapped the writes
    assert assistant.store.orphans() == []
