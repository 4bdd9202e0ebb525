from rag.assistant import Assistant
from rag.condense import is_follow_up, standalone_question
from rag.models import Turn

TROOPS = "How many North Korean troops are being deployed to Russia?"


def test_follow_up_leads_with_its_own_question_and_borrows_the_subject_from_the_previous_one() -> None:
    history = [Turn(role="user", content=TROOPS), Turn(role="assistant", content="About 1500 [1]")]
    assert standalone_question("Where could they be sent?", history) == f"Where could they be sent? {TROOPS}"


def test_standalone_question_is_left_alone() -> None:
    history = [Turn(role="user", content=TROOPS)]
    question = "What agreement did Russia and North Korea recently sign?"
    assert not is_follow_up(question)
    assert standalone_question(question, history) == question


def test_follow_up_answers_the_new_question_with_what_was_not_said_yet(corpus_assistant: Assistant) -> None:
    first = corpus_assistant.ask(TROOPS)
    history = [Turn(role="user", content=TROOPS), Turn(role="assistant", content=first.answer)]
    answer = corpus_assistant.ask("Where could they be sent?", history=history)
    assert not answer.abstained
    assert "Kursk" in answer.answer or "front" in answer.answer
    lead = answer.answer.split(" [")[0]
    assert lead not in first.answer


def test_a_question_asked_again_gets_its_answer_again(corpus_assistant: Assistant) -> None:
    question = "How many casualties a day is Russia suffering in Ukraine?"
    first = corpus_assistant.ask(question)
    history = [Turn(role="user", content=question), Turn(role="assistant", content=first.answer)]
    again = corpus_assistant.ask(question, history=history)
    assert "1200" in again.answer
