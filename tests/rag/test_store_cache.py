import time
from pathlib import Path

from rag.assistant import Assistant, build_assistant
from rag.retrieval import Retriever
from rag.store_cache import StoreCache
from tests.conftest import ingest_into
from tests.rag.test_ingestion import write
from tests.rag.test_retrieval import FACTS


def wait_until_built(retriever: Retriever, generation: str) -> None:
    deadline = time.monotonic() + 30
    while retriever.built_generation != generation and time.monotonic() < deadline:
        time.sleep(0.02)
    assert retriever.built_generation == generation


def ingest_facts(assistant: Assistant, folder: Path, *names: str) -> None:
    """Write the named FACTS documents into folder and ingest it."""
    for name in names:
        write(folder, name, FACTS[name])
    ingest_into(assistant, folder)


def test_an_ingestion_in_this_process_builds_the_indexes_before_any_question(
    assistant: Assistant, tmp_path: Path
) -> None:
    ingest_facts(assistant, tmp_path / "docs", "bread.txt")
    retriever = assistant.retriever
    wait_until_built(retriever, assistant.store.generation())
    ingest_facts(assistant, tmp_path / "docs", "chess.txt")
    # No question asked: the store's change notice alone started the build.
    wait_until_built(retriever, assistant.store.generation())
    assert retriever.lexical_index().size == 2


def test_without_room_for_embeddings_in_memory_the_passages_are_the_same(
    assistant: Assistant, tmp_path: Path
) -> None:
    ingest_facts(assistant, tmp_path / "docs", *FACTS)
    lean = build_assistant(assistant.settings.model_copy(update={"query_cache_mb": 0}), assistant.embedder)
    generation = assistant.store.generation()
    for retriever in (assistant.retriever, lean.retriever):
        retriever.refresh()
        wait_until_built(retriever, generation)
    assert lean.retriever._cache.sentence_vectors is None
    assert assistant.retriever._cache.sentence_vectors is not None
    for question in (
        "Which volcano is on Sicily?",
        "How does sourdough rise?",
        "How does the Sicilian begin?",
    ):
        assert assistant.search(question, top_k=3) == lean.search(question, top_k=3)


def test_a_cache_of_an_older_generation_reads_what_it_lacks_from_the_store(
    assistant: Assistant, tmp_path: Path
) -> None:
    ingest_facts(assistant, tmp_path / "docs", "bread.txt")
    store = assistant.store
    chunks, vectors = store.all_chunks_with_embeddings()
    old = StoreCache.build(store, store.generation(), chunks, vectors, budget_mb=64)
    ingest_facts(assistant, tmp_path / "docs", "volcano.txt")
    [new] = [c for c in store.all_chunks() if c.source == "volcano.txt"]
    found = old.get_chunks(store, [chunks[0].id, new.id], embeddings_for={new.id})
    assert found[new.id][0] == new and found[new.id][1] is not None
    assert found[chunks[0].id] == (chunks[0], None)
    sentences = old.sentences_of(store, [new.id, chunks[0].id])
    assert {s.chunk_id for s in sentences} == {new.id, chunks[0].id}
    assert any("etna" in s.words for s in sentences)
    # Versions come from the store, not from the cache of a generation that lacked the new document.
    assert "volcano.txt" in old.readable_versions(store, current=False, sources=["volcano.txt"])
    assert "volcano.txt" not in old.readable_versions(store, current=True, sources=["volcano.txt"])


def cached_sentences(cache: StoreCache) -> dict[str, list[tuple[int, frozenset[str], list[float]]]]:
    assert cache.sentence_vectors is not None
    return {
        cid: [(s.sentence.start, s.words, cache.sentence_vectors[s.row].tolist()) for s in found]
        for cid, found in cache.sentences.items()
    }


def test_an_update_after_a_small_ingestion_holds_what_a_full_build_does(
    assistant: Assistant, tmp_path: Path
) -> None:
    ingest_facts(assistant, tmp_path / "docs", "bread.txt", "chess.txt")
    store = assistant.store
    before = StoreCache.build(store, store.generation(), *store.all_chunks_with_embeddings(), budget_mb=64)
    (tmp_path / "docs" / "chess.txt").unlink()
    ingest_facts(assistant, tmp_path / "docs", "volcano.txt")
    updated = StoreCache.update(store, store.generation(), 64, previous=before)
    full = StoreCache.build(store, store.generation(), *store.all_chunks_with_embeddings(), budget_mb=64)
    assert list(updated.chunks) == list(full.chunks) and len(full.chunks) == 2
    assert {c.source for c in updated.chunks.values()} == {"bread.txt", "volcano.txt"}
    assert cached_sentences(updated) == cached_sentences(full)
    for cache in (updated, full):
        assert cache.chunk_vectors is not None
    assert all(
        updated.chunk_vectors[updated.chunk_rows[cid]].tolist()
        == full.chunk_vectors[full.chunk_rows[cid]].tolist()
        for cid in full.chunks
    )
