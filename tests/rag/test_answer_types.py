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
        ("What's the club's phone number?", AnswerType.PHONE),
        ("How do I reach them by phone?", AnswerType.PHONE),
        ("How do I contact the garden by email?", AnswerType.EMAIL),
        ("Where can I find the garden's website?", AnswerType.WEB_ADDRESS),
        ("How many phones were sold?", AnswerType.NUMBER),
        ("What did Haas say in his email?", None),
        ("What is the search feature on the museum's website called?", None),
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


def test_phone_numbers_email_and_web_addresses_are_found_but_codes_and_year_spans_are_not() -> None:
    sentence = (
        "Ring 0161 496 0732 or +44 (0)20 7946 0959, write to plots@garden.org.uk, "
        "or see www.garden.org.uk/join."
    )
    assert [c.text for c in new_candidates(sentence, AnswerType.PHONE, "")] == [
        "0161 496 0732",
        "+44 (0)20 7946 0959",
    ]
    assert [c.text for c in new_candidates(sentence, AnswerType.EMAIL, "")] == ["plots@garden.org.uk"]
    assert [c.text for c in new_candidates(sentence, AnswerType.WEB_ADDRESS, "")] == [
        "www.garden.org.uk/join"
    ]
    assert new_candidates("Gate code: 4471. The war lasted 1914-1918.", AnswerType.PHONE, "") == []
    assert new_candidates("The report is in annex.pdf, e.g. page 2.", AnswerType.WEB_ADDRESS, "") == []
