import shutil
from pathlib import Path

import pytest

from rag.answering import NOT_FOUND
from rag.assistant import Assistant
from rag.condense import changed_subject, is_follow_up, standalone_question
from rag.models import Passage, Turn
from tests.conftest import CORPUS, ingest_into, make_chunk

TROOPS = "How many North Korean troops are being deployed to Russia?"


def test_follow_up_leads_with_its_own_question_and_borrows_the_subject_from_the_previous_one() -> None:
    history = [Turn(role="user", content=TROOPS), Turn(role="assistant", content="About 1500 [1]")]
    assert standalone_question("Where could they be sent?", history) == f"Where could they be sent? {TROOPS}"


@pytest.mark.parametrize(
    "question", ["What about a hotel somewhere else?", "And who has to approve the trip first?"]
)
def test_a_question_that_opens_as_a_continuation_is_a_follow_up(question: str) -> None:
    assert is_follow_up(question)


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


HONEY = (
    "Riverside allotment handbook.\n\n"
    "The allotment keeps three beehives at the far end of the site. The honey is harvested once a year, "
    "in late August, and every volunteer who helps with the harvest takes home one jar of honey."
)


def test_a_question_on_a_new_subject_is_not_read_as_a_follow_up_of_the_last(
    assistant: Assistant, tmp_path: Path
) -> None:
    corpus = tmp_path / "docs"
    shutil.copytree(CORPUS, corpus)
    (corpus / "allotment.txt").write_text(HONEY)
    ingest_into(assistant, corpus)
    first = assistant.ask(TROOPS)
    history = [Turn(role="user", content=TROOPS), Turn(role="assistant", content=first.answer)]
    assert is_follow_up("When do they collect the honey?")  # "they": it could have been one
    answer = assistant.ask("When do they collect the honey?", history=history)
    assert not answer.abstained
    assert answer.citations[0].source == "allotment.txt"
    assert "late August" in answer.answer
    follow_up = assistant.ask("Where could they be sent?", history=history)  # still about troops
    assert follow_up.citations[0].source != "allotment.txt"


def passage_of(text: str, score: float = 0.5) -> Passage:
    return Passage(chunk=make_chunk(text), score=score)


def test_a_question_about_he_or_she_is_never_read_as_a_change_of_subject() -> None:
    bridge = [passage_of("Building began in 1853 under the engineer Josiah Fairbrother.", 0.4)]
    garden = [passage_of("The garden was started in 2014; members give four hours to shared work days.", 0.6)]
    idf = {"start": 2.0, "work": 2.0}
    # Said with "they", the question's own words fit the garden better: a change of subject.
    assert changed_subject("When did they start work on it?", bridge, garden, idf)
    # Said with "he", it is about the engineer named just before.
    assert not changed_subject("When did he start work on it?", bridge, garden, idf)


def test_a_question_is_read_alone_only_when_alone_it_finds_something_more_relevant() -> None:
    troops = [passage_of("Up to 10,000 troops could be sent to Russia.", 0.45)]
    complexity = [passage_of("The first wave of results in complexity theory came in 1965.", 0.25)]
    idf = {"first": 2.0, "wave": 4.0}
    assert not changed_subject("How many of them could be in the first wave?", troops, complexity, idf)


LIGHTHOUSE = """# Harbor Lantern Lighthouse

The Harbor Lantern Lighthouse stands on the northern cape of Velmora Island. It was first lit in the
spring after the great storm of 1893.

## Climbing the tower

Guided climbs leave from the museum door every hour. Children under eight may not climb the tower.
The spiral staircase has exactly 217 steps, and the climb takes about twelve minutes.

## The lens

The lens was made by the Oskarsson glassworks in 1894. On a clear day you can see Mount Orrel.
"""


@pytest.mark.parametrize(
    ("first", "follow_up", "fact"),
    [
        (
            "How many stairs are there up to the top of the lighthouse?",
            "And how long does that take?",
            "twelve",
        ),
        ("Which company made the lighthouse lens?", "What year was it made?", "1894"),
    ],
)
def test_a_follow_up_about_what_the_last_answer_said_gets_that_sentence_again(
    assistant: Assistant, tmp_path: Path, first: str, follow_up: str, fact: str
) -> None:
    (tmp_path / "lighthouse.md").write_text(LIGHTHOUSE)
    ingest_into(assistant, tmp_path)
    answer = assistant.ask(first)
    history = [Turn(role="user", content=first), Turn(role="assistant", content=answer.answer)]
    assert fact in answer.answer  # the first answer already said it
    again = assistant.ask(follow_up, history=history)
    assert fact in again.answer.split(" [")[0]


def test_a_question_the_documents_could_not_answer_is_not_what_a_follow_up_refers_to() -> None:
    history = [
        Turn(role="user", content="Which company made the lighthouse lens?"),
        Turn(role="assistant", content="The lens was made by the Oskarsson glassworks in 1894. [1]"),
        Turn(role="user", content="Write me a short poem about cats"),
        Turn(role="assistant", content=NOT_FOUND),
    ]
    question = "Back to the lighthouse: what mountain can you see from it?"
    assert standalone_question(question, history) == f"{question} Which company made the lighthouse lens?"
    assert standalone_question(question, history[2:]) == question
