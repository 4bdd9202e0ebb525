"""A real `chroma run` server: ingestion and answers through it, 503 while it is down, recovery after."""

import signal
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.assistant import build_assistant
from rag.corpus import run_ingestion
from server.app import create_app
from tests.conftest import make_settings, serve, start_chroma, stop


def test_api_over_a_chroma_server_fails_fast_while_it_is_down_and_recovers(
    tmp_path: Path, embedder: BaseEmbedding, chroma
) -> None:
    path, port, processes = chroma
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tea.txt").write_text("Tea\n\nGreen tea is steeped at about 80 degrees Celsius.")
    settings = make_settings(tmp_path / "data", corpus_dir=corpus, chroma_host="127.0.0.1", chroma_port=port)
    assistant = build_assistant(settings, embedder)
    assert run_ingestion(settings, assistant.store, embedder).added == ["tea.txt"]
    question = {"question": "At what temperature is green tea steeped?"}
    with TestClient(create_app(assistant=assistant)) as http:
        assert "80 degrees" in http.post("/ask", json=question).json()["answer"]
        assert http.get("/ready").status_code == 200

        stop(processes[0])
        started = time.monotonic()
        down = http.post("/ask", json=question)
        assert down.status_code == 503 and "unreachable" in down.json()["detail"]
        assert time.monotonic() - started < 10
        assert http.get("/ready").status_code == 503

        processes.append(start_chroma(path, port))
        assert "80 degrees" in http.post("/ask", json=question).json()["answer"]
        assert http.get("/ready").status_code == 200


def test_a_frozen_chroma_server_gives_503_within_the_store_timeout_and_service_resumes(
    tmp_path: Path, embedder: BaseEmbedding, chroma
) -> None:
    _, port, processes = chroma
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tea.txt").write_text("Tea\n\nGreen tea is steeped at about 80 degrees Celsius.")
    settings = make_settings(
        tmp_path / "data", corpus_dir=corpus, chroma_host="127.0.0.1", chroma_port=port, store_timeout=2
    )
    assistant = build_assistant(settings, embedder)
    assert run_ingestion(settings, assistant.store, embedder).added == ["tea.txt"]
    question = {"question": "At what temperature is green tea steeped?"}
    # A real HTTP server and client with a timeout: a hang fails the test instead of stalling it.
    with serve(create_app(assistant=assistant)) as url, httpx.Client(base_url=url, timeout=20) as http:
        assert "80 degrees" in http.post("/ask", json=question).json()["answer"]
        processes[0].send_signal(signal.SIGSTOP)  # alive, port open, never answers
        try:
            for method, path, body in (
                ("POST", "/ask", question),
                ("POST", "/search", {"query": "green tea"}),
                ("GET", "/ready", None),
                ("GET", "/health", None),
            ):
                started = time.monotonic()
                response = http.request(method, path, json=body)
                assert response.status_code == 503, (path, response.text)
                assert "unreachable" in response.json()["detail"]
                assert time.monotonic() - started < 8, path
        finally:
            processes[0].send_signal(signal.SIGCONT)
        assert "80 degrees" in http.post("/ask", json=question).json()["answer"]
        assert http.get("/ready").status_code == 200
