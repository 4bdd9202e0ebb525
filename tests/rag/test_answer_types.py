import pytest

from rag.answer_types import AnswerType, expected_type, new_candidates


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the Normans reach Italy?", AnswerType.DATE),
        ("In what year was the treaty signed?", AnswerType.DATE),
        ("How many troops were sent?", AnswerType.NUMBER),
        ("How much did the stadium cost?", AnswerType.NUMBER),
        ("Who led the raid?", AnswerType.PERSON),
        ("Where did ITV Tyne Tees move in 2005?", AnswerType.PLACE),
        ("Which city hosts the festival?", AnswerType.PLACE),
        ("Which team won the final?", AnswerType.NAME),
        ("What is the mission of the troops?", None),
    ],
)
def test_question_wording_tells_the_kind_of_answer_wanted(question: str, kind: AnswerType | None) -> None:
    assert expected_type(question) == kind


def test_dates_numbers_and_names_are_found_in_a_sentence() -> None:
    sentence = (
        "In 2005 it moved to Gateshead, where about 1,500 staff and $2.5 million followed in March 2006."
    )
    assert [c.text for c in new_candidates(sentence, AnswerType.DATE, "")] == ["2005", "March 2006"]
    assert [c.text for c in new_candidates(sentence, AnswerType.NUMBER, "")] == ["1,500", "$2.5 million"]
    assert [c.text for c in new_candidates(sentence, AnswerType.PLACE, "")] == ["Gateshead"]


def test_a_candidate_the_question_already_names_is_no_answer() -> None:
    sentence = "In 2005 it moved to Gateshead."
    assert [c.text for c in new_candidates(sentence, AnswerType.DATE, "Where did it move in 2005?")] == []


def test_a_month_alone_is_a_date_only_where_a_word_makes_it_a_time() -> None:
    found = new_candidates("Honey is harvested in late August, since 2015.", AnswerType.DATE, "When?")
    assert [c.text for c in found] == ["late August", "2015"]
    assert new_candidates("It may rain, as it did In June.", AnswerType.DATE, "When?")[0].text == "June"
    held = new_candidates("It was held in May 2010.", AnswerType.DATE, "When?")
    assert [c.text for c in held] == ["May 2010"]
