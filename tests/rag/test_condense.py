from rag.assistant import Assistant
from rag.condense import is_follow_up, standalone_question
from rag.models import Turn

TROOPS = "How many North Korean troops are being deployed to Russia?"


def test_follow_up_with_a_pronoun_gets_the_previous_question_as_context() -> None:
    history = [Turn(role="user", content=TROOPS), Turn(role="assistant", content="About 1500 [1]")]
    assert standalone_question("Where could they be sent?", history) == f"{TROOPS} Where could they be sent?"


def test_standalone_question_is_left_alone() -> None:
    history = [Turn(role="user", content=TROOPS)]
    question = "What agreement did Russia and North Korea recently sign?"
    assert not is_follow_up(question)
    assert standalone_question(question, history) == question


def test_follow_up_retrieves_as_if_the_subject_were_named(corpus_assistant: Assistant) -> None:
    history = [Turn(role="user", content=TROOPS), Turn(role="assistant", content="At least 1500 [1]")]
    answer = corpus_assistant.ask("Where could they be sent?", history=history)
    assert not answer.abstained
    assert "Kursk" in answer.answer or "front" in answer.answer
