"""Real API processes over a Chroma server: several workers stay in step; a crash loses nothing."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT, free_port


def test_two_workers_answer_and_all_see_a_new_document(tmp_path: Path, chroma) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tea.txt").write_text("Tea\n\nGreen tea is steeped at about 80 degrees Celsius.")
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "CORPUS_DIR": str(corpus),
        "CHROMA_HOST": "127.0.0.1",
        "CHROMA_PORT": str(chroma[1]),
    }
    subprocess.run([sys.executable, "-m", "ingest"], cwd=ROOT, env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        ready = 0
        while ready < 10 and time.monotonic() < deadline:  # both workers up: several answers in a row
            try:
                ready = ready + 1 if httpx.get(f"{url}/ready", timeout=5).status_code == 200 else 0
            except httpx.HTTPError:
                time.sleep(0.5)
        assert ready == 10, "the workers did not come up"
        (corpus / "coffee.txt").write_text("Coffee\n\nEspresso is brewed at about 93 degrees Celsius.")
        response = httpx.post(f"{url}/ingest", timeout=120)
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["added"] == ["coffee.txt"]
        for _ in range(12):  # requests spread over both workers; each must see the new document
            hits = httpx.post(
                f"{url}/search", json={"query": "espresso brewed", "top_k": 1}, timeout=30
            ).json()
            assert hits["results"][0]["source"] == "coffee.txt"
    finally:
        server.terminate()
        server.wait(timeout=30)


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "--port", str(port)], cwd=ROOT, env=env, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError("the API did not start")


def test_a_crashed_api_process_loses_nothing(tmp_path: Path, chroma) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tea.txt").write_text("Tea\n\nGreen tea is steeped at about 80 degrees Celsius.")
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "CORPUS_DIR": str(corpus),
        "CHROMA_HOST": "127.0.0.1",
        "CHROMA_PORT": str(chroma[1]),
    }
    url = f"http://127.0.0.1:{port}"
    server = start_server(env, port)
    try:
        assert httpx.post(f"{url}/ingest", timeout=120).json()["added"] == ["tea.txt"]
        before = httpx.get(f"{url}/documents").json()
    finally:
        server.kill()  # SIGKILL: no shutdown handlers run
        server.wait(timeout=30)
    server = start_server(env, port)
    try:
        assert httpx.get(f"{url}/documents").json() == before
        answer = httpx.post(
            f"{url}/ask", json={"question": "At what temperature is green tea steeped?"}
        ).json()
        assert "80 degrees" in answer["answer"]
    finally:
        server.terminate()
        server.wait(timeout=30)
