"""A real `python -m ingest` process writing the embedded store while a real API process serves it."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.conftest import ROOT, free_port, start_server

TEA = "Tea\n\nGreen tea is steeped at about 80 degrees Celsius."


def embedded_environment(tmp_path: Path) -> dict[str, str]:
    """A corpus of one document, and settings for processes sharing one embedded store."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tea.txt").write_text(TEA)
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "CORPUS_DIR": str(corpus), "HF_HUB_OFFLINE": "1"}
    env["RATE_LIMIT"] = "100000/minute"  # the test asks as fast as it can while the other process writes
    env.pop("CHROMA_HOST", None)
    return env


def run_ingest(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_ingest_in_a_second_process_is_picked_up_by_the_running_api_without_errors(tmp_path: Path) -> None:
    env = embedded_environment(tmp_path)
    corpus = Path(env["CORPUS_DIR"])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(env, port)
    try:
        assert httpx.post(f"{url}/ingest", timeout=120).json()["added"] == ["tea.txt"]
        hits = httpx.post(f"{url}/search", json={"query": "green tea", "top_k": 1}, timeout=30)
        assert hits.json()["results"][0]["source"] == "tea.txt"  # the API has loaded the store

        (corpus / "coffee.txt").write_text("Coffee\n\nEspresso is brewed at about 93 degrees.")
        (corpus / "tea.txt").write_text(TEA.replace("80", "75"))
        statuses: list[int] = []
        done = threading.Event()

        def ask_all_along() -> None:  # questions while the other process writes, and just after
            while not done.is_set():
                for query in ("espresso brewed", "green tea steeped"):
                    statuses.append(
                        httpx.post(f"{url}/search", json={"query": query, "top_k": 1}, timeout=30).status_code
                    )

        asker = threading.Thread(target=ask_all_along)
        asker.start()
        try:
            second = run_ingest(env)
        finally:
            done.set()
            asker.join()
        assert second.returncode == 0, second.stderr
        assert "1 added, 1 changed" in second.stdout
        assert statuses and set(statuses) == {200}

        hits = httpx.post(f"{url}/search", json={"query": "espresso brewed", "top_k": 1}, timeout=30)
        assert hits.status_code == 200, hits.text
        assert hits.json()["results"][0]["source"] == "coffee.txt"
        question = {"question": "At what temperature is green tea steeped?"}
        answer = httpx.post(f"{url}/ask", json=question, timeout=30)
        assert answer.status_code == 200, answer.text
        assert "75 degrees" in answer.json()["answer"]
        stream = httpx.post(f"{url}/ask/stream", json={"question": "How is espresso brewed?"}, timeout=30)
        assert stream.status_code == 200 and "event: done" in stream.text and "93 degrees" in stream.text
        assert httpx.get(f"{url}/ready", timeout=30).status_code == 200

        # The API's own ingestion afterwards keeps what the other process wrote.
        (corpus / "cocoa.txt").write_text("Cocoa\n\nCocoa beans are fermented for about six days.")
        assert httpx.post(f"{url}/ingest", timeout=120).json()["added"] == ["cocoa.txt"]
        for query, source in (("espresso brewed", "coffee.txt"), ("cocoa beans fermented", "cocoa.txt")):
            hits = httpx.post(f"{url}/search", json={"query": query, "top_k": 1}, timeout=30)
            assert hits.status_code == 200, hits.text
            assert hits.json()["results"][0]["source"] == source
        plan = httpx.post(f"{url}/ingest", json={"dry_run": True}, timeout=120).json()
        assert sorted(plan["unchanged"]) == ["cocoa.txt", "coffee.txt", "tea.txt"]
    finally:
        server.terminate()
        server.wait(timeout=30)
