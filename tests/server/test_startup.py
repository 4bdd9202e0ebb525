"""Starting the API with bad settings: a clear message and exit status 2, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.corpus import run_ingestion
from rag.model_record import ModelRecord
from rag.settings import Settings
from rag.store import open_store
from tests.conftest import ROOT, free_port, process_env, start_server, stop


@pytest.mark.parametrize("name", ["ab", "-documents", "my documents"])
def test_a_bad_collection_name_stops_the_api_at_start_with_a_clear_message(tmp_path: Path, name: str) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "COLLECTION_NAME": name}
    result = subprocess.run(
        [sys.executable, "-m", "server", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"COLLECTION_NAME: Value error, {name!r} is not a Chroma collection name" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["server", "--port", "0"], ["server.mcp"]], ids=["api", "mcp-stdio"])
def test_the_api_and_mcp_refuse_to_start_on_a_store_of_another_model_and_say_how_to_fix_it(
    settings: Settings, embedder: BaseEmbedding, tmp_path: Path, command: list[str]
) -> None:
    store = open_store(settings)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "tea.txt").write_text("Tea\n\nGreen tea is steeped at about 80 degrees Celsius.")
    run_ingestion(settings, store, embedder)
    probe = np.random.default_rng(3).normal(size=768)
    store.record_model(ModelRecord("intfloat/e5-base-v2", 768, tuple(probe / np.linalg.norm(probe))))
    result = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        env=process_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "written by embedding model 'intfloat/e5-base-v2' (768 dimensions)" in result.stderr
    assert "python -m ingest --full" in result.stderr and "Traceback" not in result.stderr


def test_the_api_serves_with_embed_model_set_to_a_model_folder(
    settings: Settings, embedder: BaseEmbedding, bundled_model_copy: Path, tmp_path: Path
) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "tea.txt").write_text("Tea\n\nGreen tea is steeped at about 80 degrees Celsius.")
    run_ingestion(settings, open_store(settings), embedder)  # written by the bundled model, by name
    port = free_port()
    server = start_server(process_env(settings, EMBED_MODEL=str(bundled_model_copy)), port)
    try:
        hits = httpx.post(f"http://127.0.0.1:{port}/search", json={"query": "green tea"}, timeout=60).json()
        assert hits["results"][0]["source"] == "tea.txt"
    finally:
        stop(server)
