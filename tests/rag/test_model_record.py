"""The embedding model recorded with the store: checked at every ingestion and start, a mismatch refused
with the fix, and a full re-ingestion with another model replacing every vector, dimension and all.
Real stores, the real bundled model, and a real second model made from it (see `other_model`)."""

from pathlib import Path

import numpy as np
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.assistant import build_assistant
from rag.corpus import run_ingestion
from rag.embedding import load_embedder
from rag.errors import EmbeddingModelMismatch
from rag.ingestion import ingest
from rag.model_record import ModelRecord, describe
from rag.settings import DEFAULT_EMBED_MODEL, Settings
from rag.store import collection_names, open_store

TEXTS = {
    "volcano.txt": "Etna\n\nMount Etna is an active volcano on the east coast of Sicily.",
    "chess.txt": "Chess openings\n\nThe Sicilian Defence is a chess opening that begins 1.e4 c5.",
    "tea.txt": "Green tea\n\nGreen tea is steeped at about 80 degrees Celsius for two minutes.",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in TEXTS.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def written(settings: Settings, corpus: Path, embedder: BaseEmbedding) -> Settings:
    """Settings whose store holds the corpus, written by the bundled model."""
    run_ingestion(settings, open_store(settings), embedder, root=corpus)
    return settings


def test_ingestion_records_the_model_and_its_dimension_with_the_store(written: Settings) -> None:
    record = open_store(written).model_record()
    assert record is not None
    assert record.model == DEFAULT_EMBED_MODEL and record.dimension == 384 == len(record.probe)


def test_a_store_written_before_models_were_recorded_is_accepted_then_recorded_without_re_embedding(
    settings: Settings, corpus: Path, embedder: BaseEmbedding
) -> None:
    store = open_store(settings)
    ingest(corpus, store, embedder, settings.chunk_size, settings.chunk_overlap)  # writes no record
    assert store.model_record() is None
    assert build_assistant(settings, embedder).search("Which volcano is on Sicily?", 1)
    report = run_ingestion(settings, store, embedder, root=corpus)
    assert report.chunks_written == 0 and len(report.unchanged) == len(TEXTS)
    record = store.model_record()
    assert record is not None and record.model == DEFAULT_EMBED_MODEL
    assert record.same_space(describe(embedder, DEFAULT_EMBED_MODEL))


@pytest.mark.parametrize("dimension", [768, 384])
def test_a_store_of_another_model_is_refused_at_ingestion_and_at_start_with_the_fix(
    written: Settings, corpus: Path, embedder: BaseEmbedding, dimension: int
) -> None:
    store = open_store(written)
    probe = np.random.default_rng(7).normal(size=dimension)
    other = ModelRecord("intfloat/e5-base-v2", dimension, tuple(probe / np.linalg.norm(probe)))
    store.record_model(other)  # as if that model had written the store
    (corpus / "new.txt").write_text("Owls\n\nOwls hunt at night.")
    with pytest.raises(EmbeddingModelMismatch) as refused:
        run_ingestion(written, store, embedder, root=corpus)
    message = str(refused.value)
    assert f"'intfloat/e5-base-v2' ({dimension} dimensions)" in message
    assert f"EMBED_MODEL is '{DEFAULT_EMBED_MODEL}' (384 dimensions)" in message
    assert "python -m ingest --full" in message
    with pytest.raises(EmbeddingModelMismatch, match="intfloat/e5-base-v2"):
        build_assistant(written, embedder)
    assert sorted(store.documents()) == sorted(TEXTS)  # nothing was written, nothing lost


def test_the_bundled_model_loaded_from_another_folder_is_the_same_model(
    written: Settings, corpus: Path, bundled_model_copy: Path
) -> None:
    copied = written.model_copy(update={"embed_model": str(bundled_model_copy)})
    embedder = load_embedder(copied.embed_model)
    report = run_ingestion(copied, open_store(copied), embedder, root=corpus)
    assert report.chunks_written == 0 and len(report.unchanged) == len(TEXTS)
    passages = build_assistant(copied, embedder).search("Which volcano is on Sicily?", 1)
    assert passages[0].chunk.source == "volcano.txt"


def test_a_full_reingestion_with_another_model_replaces_every_vector_and_the_dimension(
    written: Settings, corpus: Path, embedder: BaseEmbedding, other_model: Path
) -> None:
    serving = build_assistant(written, embedder)  # a reader of the old model, running throughout
    switched = written.model_copy(update={"embed_model": str(other_model)})
    other = load_embedder(switched.embed_model)
    store = open_store(switched)
    with pytest.raises(EmbeddingModelMismatch, match=r"\(384 dimensions\).*\(128 dimensions\)"):
        run_ingestion(switched, store, other, root=corpus)
    assert serving.search("Which volcano is on Sicily?", 1)[0].chunk.source == "volcano.txt"

    report = run_ingestion(switched, store, other, root=corpus, full=True)
    assert sorted(report.added) == sorted(TEXTS) and not report.failed
    record = store.model_record()
    assert record is not None and record.model == str(other_model) and record.dimension == 128
    chunks = store.get_chunks([c.id for c in store.all_chunks()])
    assert len(chunks) == report.chunks_written and {v.shape for _, v in chunks.values()} == {(128,)}
    sentences = store.sentences_of(list(chunks))
    assert sentences and {s.embedding.shape for s in sentences} == {(128,)}
    names = {c.name for c in store.client.list_collections()}
    assert not any(name in names for name in collection_names(f"{switched.collection_name}-rebuild"))

    reader = build_assistant(switched, other)
    assert reader.search("Which volcano is on Sicily?", 1)[0].chunk.source == "volcano.txt"
    with pytest.raises(EmbeddingModelMismatch):  # the old model's reader notices, never mixes
        serving.search("Which volcano is on Sicily?", 1)
    with pytest.raises(EmbeddingModelMismatch):
        build_assistant(written, embedder)
