import pytest

from rag.assistant import Assistant
from rag.errors import InvalidQuestion


@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_blank_question_is_rejected(corpus_assistant: Assistant, question: str) -> None:
    with pytest.raises(InvalidQuestion, match="empty"):
        corpus_assistant.ask(question)


def test_over_long_question_is_rejected(corpus_assistant: Assistant) -> None:
    limit = corpus_assistant.settings.max_question_chars
    with pytest.raises(InvalidQuestion, match=f"limit is {limit}"):
        corpus_assistant.ask("why " * limit)


def test_empty_store_abstains(assistant: Assistant) -> None:
    assert assistant.ask("Anything at all?").abstained
