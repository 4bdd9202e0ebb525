"""RATE_LIMIT_STORAGE: with the counters in a real Redis, two API instances share one budget."""

from fastapi.testclient import TestClient

from rag.assistant import Assistant
from rag.settings import Settings
from server.app import create_app


def instance(corpus_assistant: Assistant, **overrides: object) -> TestClient:
    """One more API instance over the same store, with its own settings (and its own limiter)."""
    settings = Settings(_env_file=None, **(corpus_assistant.settings.model_dump() | overrides))
    c = corpus_assistant
    return TestClient(create_app(assistant=Assistant(settings, c.store, c.embedder, c.retriever, c.answerer)))


def statuses(first: TestClient, second: TestClient, requests: int) -> list[int]:
    return [(first, second)[i % 2].get("/documents").status_code for i in range(requests)]


def test_two_instances_share_one_budget_in_redis(corpus_assistant: Assistant, redis_url: str) -> None:
    shared = {"rate_limit": "4/minute", "rate_limit_storage": redis_url}
    with instance(corpus_assistant, **shared) as first, instance(corpus_assistant, **shared) as second:
        assert statuses(first, second, 6) == [200, 200, 200, 200, 429, 429]


def test_in_memory_counters_are_per_instance(corpus_assistant: Assistant) -> None:
    alone = {"rate_limit": "2/minute", "rate_limit_storage": "memory://"}
    with instance(corpus_assistant, **alone) as first, instance(corpus_assistant, **alone) as second:
        assert statuses(first, second, 5) == [200, 200, 200, 200, 429]
