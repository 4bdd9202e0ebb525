"""Real API processes over a Chroma server: several workers stay in step; a crash loses nothing."""

import os
from pathlib import Path

import httpx

from tests.conftest import free_port, start_api

TEA = "Tea\n\nGreen tea is steeped at about 80 degrees Celsius."


def environment(tmp_path: Path, chroma_port: int) -> dict[str, str]:
    """A corpus of one document, and the settings of API processes sharing a Chroma server."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tea.txt").write_text(TEA)
    return {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "CORPUS_DIR": str(corpus),
        "CHROMA_HOST": "127.0.0.1",
        "CHROMA_PORT": str(chroma_port),
    }


def test_two_workers_answer_and_all_see_a_new_document(tmp_path: Path, chroma) -> None:
    env = environment(tmp_path, chroma[1])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_api(env, port, workers=2)
    try:
        assert httpx.post(f"{url}/ingest", timeout=120).json()["added"] == ["tea.txt"]
        (Path(env["CORPUS_DIR"]) / "coffee.txt").write_text(
            "Coffee\n\nEspresso is brewed at about 93 degrees."
        )
        assert httpx.post(f"{url}/ingest", timeout=120).json()["added"] == ["coffee.txt"]
        for _ in range(12):  # requests spread over both workers; each must see the new document
            hits = httpx.post(f"{url}/search", json={"query": "espresso brewed", "top_k": 1}, timeout=30)
            assert hits.status_code == 200, hits.text
            assert hits.json()["results"][0]["source"] == "coffee.txt"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_crashed_api_process_loses_nothing(tmp_path: Path, chroma) -> None:
    env = environment(tmp_path, chroma[1])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_api(env, port)
    try:
        assert httpx.post(f"{url}/ingest", timeout=120).json()["added"] == ["tea.txt"]
        before = httpx.get(f"{url}/documents").json()
    finally:
        server.kill()  # SIGKILL: no shutdown handlers run
        server.wait(timeout=30)
    server = start_api(env, port)
    try:
        assert httpx.get(f"{url}/documents").json() == before
        answer = httpx.post(
            f"{url}/ask", json={"question": "At what temperature is green tea steeped?"}
        ).json()
        assert "80 degrees" in answer["answer"]
    finally:
        server.terminate()
        server.wait(timeout=30)
