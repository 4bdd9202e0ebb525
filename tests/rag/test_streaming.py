"""Streamed answer text is shown only once a real citation backs it; bogus markers never show."""

from __future__ import annotations

from rag.answering import NOT_FOUND
from rag.models import Answer
from rag.prompt import SYSTEM
from rag.streaming import CheckedText


def shown(pieces: list[str], passages: int = 2) -> tuple[list[str], CheckedText]:
    text = CheckedText(passages)
    return [text.feed(p) for p in pieces], text


def test_nothing_shows_before_the_first_valid_citation_then_words_flow() -> None:
    out, _ = shown(["Troops ", "arrived ", "[1] ", "in ", "October."])
    assert out == ["", "", "Troops arrived [1]", " in", " October."]


def test_a_marker_naming_no_passage_is_removed_and_a_half_written_one_held_back() -> None:
    out, text = shown(["Troops arrived [1] ", "and left [", "9", "]", "."])
    assert out == ["Troops arrived [1]", " and left", "", "", "."]
    assert text.shown == "Troops arrived [1] and left."


def test_an_answer_that_never_cites_is_replaced_whole_by_the_final_answer() -> None:
    out, text = shown(["It ", "is ", "probably ", "so."])
    assert out == ["", "", "", ""]
    fallback = Answer(answer="Quoted sentence. [1]", citations=[], abstained=False, notice="cited nothing")
    assert text.finish(fallback) == "Quoted sentence. [1]"


def test_not_in_documents_and_an_echoed_prompt_never_show() -> None:
    assert shown(["NOT_IN_", "DOCUMENTS"])[0] == ["", ""]
    assert shown([SYSTEM[:70], " [2] and more"])[0] == ["", ""]
    _, text = shown(["NOT_IN_DOCUMENTS"])
    assert text.finish(Answer(answer=NOT_FOUND, citations=[], abstained=True)) == NOT_FOUND


def test_finish_adds_the_rest_of_the_checked_answer_or_all_of_it_apart() -> None:
    _, text = shown(["Troops arrived [1] in October"])
    same = Answer(answer="Troops arrived [1] in October.", citations=[], abstained=False)
    assert text.finish(same) == "."
    other = Answer(answer="Something else. [2]", citations=[], abstained=False)
    assert text.finish(other) == "\n\nSomething else. [2]"
