"""A question in another language than English is told so when it finds nothing."""

import pytest

from rag.answering import NOT_FOUND
from rag.assistant import Assistant
from rag.language import foreign_language


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("¿Quién fue el ingeniero jefe del embalse?", "Spanish"),
        ("Wer ist der Kassierer des Radclubs?", "German"),
        ("水库是什么时候建成的？", "Chinese"),
    ],
)
def test_a_question_clearly_in_another_language_is_named(question: str, language: str) -> None:
    assert foreign_language(question) == language


@pytest.mark.parametrize(
    "question", ["Who is Bob?", "What's the wifi password?", "When was it done?", "Kestrel Ridge dam cost"]
)
def test_english_questions_short_ones_and_names_included_are_english(question: str) -> None:
    assert foreign_language(question) is None


def test_a_spanish_question_that_finds_nothing_says_why(corpus_assistant: Assistant) -> None:
    answer = corpus_assistant.ask("¿Cuántos soldados norcoreanos hay en Rusia?")
    assert answer.abstained and answer.answer == NOT_FOUND
    assert answer.notice and "Spanish" in answer.notice and "English" in answer.notice


def test_an_english_question_that_finds_nothing_has_no_language_notice(corpus_assistant: Assistant) -> None:
    answer = corpus_assistant.ask("How do I bake sourdough bread?")
    assert answer.abstained and answer.notice is None
