"""/search to the documented depth: up to MAX_SEARCH_TOP_K passages, from a candidate pool that grows
with it; past it, 422. Over a real store of more chunks than the deepest search."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.assistant import Assistant, build_assistant
from rag.retrieval import Weights
from rag.settings import MAX_ASK_TOP_K, MAX_SEARCH_TOP_K
from server.app import create_app
from tests.conftest import ingest_into, make_settings

TOWNS = 70


@pytest.fixture(scope="module")
def deep_assistant(tmp_path_factory: pytest.TempPathFactory, embedder: BaseEmbedding) -> Assistant:
    """A store of well over MAX_SEARCH_TOP_K small chunks (two per town)."""
    tmp = tmp_path_factory.mktemp("deep")
    corpus = tmp / "corpus"
    corpus.mkdir()
    for i in range(TOWNS):
        (corpus / f"town-{i}.txt").write_text(
            f"Town {i}\n\nThe harbour of town {i} was dredged in {1800 + i}.\n\n"
            f"The market of town {i} sells {i} kinds of cheese every Saturday."
        )
    assistant = build_assistant(make_settings(tmp / "data", corpus_dir=corpus, chunk_size=20), embedder)
    ingest_into(assistant, corpus)
    assert assistant.store.count() > MAX_SEARCH_TOP_K
    return assistant


@pytest.fixture(scope="module")
def deep_api(deep_assistant: Assistant) -> Iterator[TestClient]:
    with TestClient(create_app(assistant=deep_assistant)) as client:
        yield client


def test_search_returns_the_deepest_documented_depth_of_distinct_passages(deep_api: TestClient) -> None:
    response = deep_api.post("/search", json={"query": "harbour dredged", "top_k": MAX_SEARCH_TOP_K})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == MAX_SEARCH_TOP_K == 100
    assert len({r["chunk_id"] for r in results}) == MAX_SEARCH_TOP_K
    assert [r["rank"] for r in results] == list(range(1, MAX_SEARCH_TOP_K + 1))
    harbour_ranks = [r["rank"] for r in results if "harbour" in r["text"]]
    assert harbour_ranks[:TOWNS] == list(range(1, TOWNS + 1))  # every harbour passage before any market one


def test_search_past_the_maximum_and_ask_past_its_own_get_422(deep_api: TestClient) -> None:
    too_deep = deep_api.post("/search", json={"query": "harbour", "top_k": MAX_SEARCH_TOP_K + 1})
    assert too_deep.status_code == 422 and too_deep.json()["detail"][0]["loc"] == ["body", "top_k"]
    ask = deep_api.post("/ask", json={"question": "harbour?", "top_k": MAX_ASK_TOP_K + 1})
    assert ask.status_code == 422


def test_the_candidate_pool_is_never_smaller_than_the_passages_asked_for_and_grows_past_them() -> None:
    weights = Weights()
    assert weights.candidates(5) == weights.pool  # the default depth keeps the measured pool
    for top_k in (weights.pool, 50, MAX_SEARCH_TOP_K):
        assert weights.candidates(top_k) > top_k
