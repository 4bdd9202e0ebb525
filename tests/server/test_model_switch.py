"""An API serving a store that another embedding model re-embeds meanwhile: 503 with the reason and the
fix, never results from mixed vector spaces."""

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.assistant import build_assistant
from rag.corpus import run_ingestion
from rag.model_record import ModelRecord
from rag.settings import Settings
from server.app import create_app


def test_a_store_re_embedded_by_another_model_under_a_running_api_gets_503_with_the_fix(
    settings: Settings, embedder: BaseEmbedding, tmp_path: Path
) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "tea.txt").write_text("Tea\n\nGreen tea is steeped at about 80 degrees Celsius.")
    assistant = build_assistant(settings, embedder)
    run_ingestion(settings, assistant.store, embedder)
    with TestClient(create_app(assistant=assistant)) as api:
        assert api.post("/search", json={"query": "green tea"}).json()["results"][0]["source"] == "tea.txt"
        probe = np.random.default_rng(5).normal(size=384)  # the same dimension, another model
        assistant.store.record_model(
            ModelRecord("thenlper/gte-small", 384, tuple(probe / np.linalg.norm(probe)))
        )
        refused = api.post("/search", json={"query": "green tea"})
        assert refused.status_code == 503
        assert "written by embedding model 'thenlper/gte-small'" in refused.json()["detail"]
        assert "python -m ingest --full" in refused.json()["detail"]
        assert api.post("/ask", json={"question": "How hot is green tea steeped?"}).status_code == 503
