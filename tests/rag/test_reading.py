"""The answer layer on small hand-made documents: what it quotes, what it never quotes, what it marks."""

from pathlib import Path

from rag.answer_types import AnswerType, candidates
from rag.answering import MAX_ANSWER_WORDS
from rag.assistant import Assistant
from rag.models import Turn
from rag.reading import structure_at, whole_value
from tests.conftest import ingest_into
from tests.rag.test_ingestion import write

REACTOR = """# Zorblax Reactor Notes

## History

The Zorblax reactor was designed by a small team in Oslo.
It was switched on for the first time in 1987, after six years of building.

## Output

- Peak output
- Fuel

At full power the reactor delivers 420 megawatts, enough for a mid-sized city.
The cooling loop uses heavy
water that is pumped through
three separate circuits.
"""

TYNE_TEES = """ITV Tyne Tees

ITV Tyne Tees is the ITV franchise for North East England. The station was launched in 1959.
In 2005 it moved to new studios at the Watermark business park in Gateshead. Its old studios in
Newcastle were later demolished.
"""


def ask(assistant: Assistant, tmp_path: Path, files: dict[str, str], question: str, history=None):
    for name, text in files.items():
        write(tmp_path / "docs", name, text)
    ingest_into(assistant, tmp_path / "docs")
    return assistant.ask(question, history=history)


def test_headings_titles_and_list_labels_are_never_quoted(assistant: Assistant, tmp_path: Path) -> None:
    answer = ask(
        assistant, tmp_path, {"reactor.md": REACTOR}, "Tell me about the Zorblax reactor notes output"
    )
    assert not answer.abstained
    for line in ("# Zorblax", "## History", "## Output", "Peak output", "Fuel ["):
        assert line not in answer.answer


def test_the_date_a_when_question_asks_for_is_marked_in_the_lead_sentence(
    assistant: Assistant, tmp_path: Path
) -> None:
    answer = ask(
        assistant, tmp_path, {"reactor.md": REACTOR}, "When was the Zorblax reactor first switched on?"
    )
    assert answer.answer.startswith("It was switched on for the first time in 1987")
    [citation] = answer.citations
    assert citation.quote is not None and citation.quote.text == "1987"
    assert citation.text[citation.quote.start : citation.quote.end] == "1987"


def test_a_how_much_question_marks_the_amount(assistant: Assistant, tmp_path: Path) -> None:
    answer = ask(
        assistant, tmp_path, {"reactor.md": REACTOR}, "How much power does the Zorblax reactor produce?"
    )
    assert "420 megawatts" in answer.answer
    assert answer.citations[0].quote is not None and "420" in answer.citations[0].quote.text


def test_quoted_text_has_no_hard_line_breaks(assistant: Assistant, tmp_path: Path) -> None:
    answer = ask(
        assistant, tmp_path, {"reactor.md": REACTOR}, "How many circuits does the cooling water go through?"
    )
    assert "heavy water that is pumped through three separate circuits." in answer.answer
    assert "\n" not in answer.answer
    [span] = [s for c in answer.citations for s in c.sentences if "circuits" in s.text]
    assert "\n" in span.text  # the citation's offsets still point at the document as written


def test_a_sentence_that_says_it_is_read_with_the_one_before(assistant: Assistant, tmp_path: Path) -> None:
    answer = ask(assistant, tmp_path, {"tyne-tees.txt": TYNE_TEES}, "Where did ITV Tyne Tees move in 2005?")
    assert "In 2005 it moved to new studios at the Watermark business park in Gateshead." in answer.answer


def test_a_follow_up_answers_the_new_question_not_the_previous_one(
    assistant: Assistant, tmp_path: Path
) -> None:
    history = [
        Turn(role="user", content="When was the Zorblax reactor switched on?"),
        Turn(
            role="assistant",
            content="It was switched on for the first time in 1987, after six years of building. [1]",
        ),
    ]
    answer = ask(assistant, tmp_path, {"reactor.md": REACTOR}, "How much power does it deliver?", history)
    assert "420 megawatts" in answer.answer.split("[")[0]
    assert "1987" not in answer.answer.split("[")[0]


def test_every_quoted_sentence_is_in_its_citation(assistant: Assistant, tmp_path: Path) -> None:
    answer = ask(
        assistant, tmp_path, {"reactor.md": REACTOR, "tyne-tees.txt": TYNE_TEES}, "Who designed the reactor?"
    )
    for citation in answer.citations:
        assert citation.sentences
        for span in citation.sentences:
            assert citation.text[span.start : span.end] == span.text


def test_an_over_long_sentence_is_cut_to_the_word_limit(assistant: Assistant, tmp_path: Path) -> None:
    long = (
        "The harbour crane, " + "which was painted red and serviced every spring, " * 20 + "lifts 40 tonnes."
    )
    answer = ask(
        assistant, tmp_path, {"crane.txt": f"Cranes\n\n{long}\n"}, "How much can the harbour crane lift?"
    )
    words = answer.answer.split("[")[0].split()
    assert len([w for w in words if w != "…"]) <= MAX_ANSWER_WORDS
    assert "40 tonnes" in answer.answer


def test_the_reader_model_reads_the_likeliest_sentences_and_they_lead(
    assistant: Assistant, tmp_path: Path
) -> None:
    from rag.reading import READ_AT_LEAST, model_use, read

    write(tmp_path / "docs", "reactor.md", REACTOR)
    ingest_into(assistant, tmp_path / "docs")
    question = "How much electricity can the plant put out?"
    readings = read(question, assistant.retrieve(question, None, 5).passages)
    _, how_many = model_use()
    checked = [r for r in readings if r.checked is not None]
    assert min(READ_AT_LEAST, len(readings)) <= len(checked) <= how_many
    assert readings[0].text.startswith("At full power the reactor delivers 420 megawatts")
    assert readings[0].checked == max(r.checked for r in checked)


def test_the_reader_model_skips_sentences_the_features_leave_far_behind() -> None:
    from rag.reading import READ_WITHIN, in_the_running

    scores = [0.0, 5.0, 5.0 - READ_WITHIN - 0.1, 4.0, -3.0, 2.5]
    assert in_the_running(scores, 6) == [1, 3, 5]  # the likeliest and those within READ_WITHIN of it
    assert in_the_running(scores, 2) == [1, 3]
    assert in_the_running([9.0, 0.0, -1.0], 6) == [0, 1]  # the likeliest two, however far the second
    assert in_the_running([], 6) == []


def test_a_what_question_gets_its_answer_marked_too(assistant: Assistant, tmp_path: Path) -> None:
    answer = ask(assistant, tmp_path, {"reactor.md": REACTOR}, "What liquid goes round the cooling circuits?")
    [quote] = [c.quote for c in answer.citations if c.quote is not None]
    assert quote.text == "heavy\nwater"  # offsets into the document as written, line break and all
    assert answer.answer.startswith("The cooling loop uses heavy water")


HANDBOOK = """# Office handbook

## Travel

Staff travelling for work can claim their costs back within 60 days of the trip.

| Expense | Limit |
|---|---|
| Hotel per night | 140 euros |
| Dinner | 35 euros |

## At the cabin

Wi-Fi password: bluefish42
Check-in: from 4 pm
"""


def test_a_fact_in_a_table_row_is_answered_with_the_row_not_its_header(
    assistant: Assistant, tmp_path: Path
) -> None:
    answer = ask(
        assistant, tmp_path, {"handbook.md": HANDBOOK}, "How much can I spend on a hotel each night?"
    )
    assert answer.answer.startswith("Hotel per night | 140 euros [1]")
    assert "Expense | Limit" not in answer.answer and "---" not in answer.answer
    lead = answer.citations[0].sentences[0]
    assert answer.citations[0].text[lead.start : lead.end] == "Hotel per night | 140 euros"


def test_a_label_value_line_is_a_fact_not_a_label(assistant: Assistant, tmp_path: Path) -> None:
    answer = ask(assistant, tmp_path, {"handbook.md": HANDBOOK}, "What is the wifi password at the cabin?")
    assert answer.answer.startswith("Wi-Fi password: bluefish42 [1]")


def test_a_title_line_ending_in_a_bracket_and_a_run_in_section_label_are_never_quoted() -> None:
    text = (
        "Brightwater Ltd - Travel and Expense Policy (version 3, January 2026)\n"
        "5. Hotels. The nightly room rate may not exceed 140 pounds.\n"
        "Scope. It applies to all staff.\n"
        "1. Dogs are banned.\n"
        "12. Changes to this policy. We may update it.\n"
        "2. Dogs are banned. Cats too.\n"
    )

    def structure(sentence: str) -> bool:
        start = text.index(sentence)
        return structure_at(text, "Travel Policy", start, start + len(sentence))

    assert structure("Brightwater Ltd - Travel and Expense Policy (version 3, January 2026)")
    assert structure("5. Hotels.") and structure("Scope.")
    # Split apart, the number and the label are both structure.
    number = text.index("5.")
    assert structure_at(text, "Travel Policy", number, number + 2)
    assert structure_at(text, "Travel Policy", number + 3, number + 10)
    assert not structure("The nightly room rate may not exceed 140 pounds.")
    assert not structure("It applies to all staff.")
    assert not structure("1. Dogs are banned.")  # a numbered list item that is a whole sentence is a fact
    label = text.index("Changes to this policy.")
    assert structure_at(text, "Travel Policy", label, label + len("Changes to this policy."))
    fact = text.index("Dogs are banned. Cats")
    assert not structure_at(text, "Travel Policy", fact, fact + len("Dogs are banned."))


def test_a_marked_answer_is_widened_to_the_whole_value_it_cuts_into() -> None:
    def widened(text: str, part: str, kind: AnswerType | None = None) -> str:
        start = text.index(part)
        found = tuple(candidates(text, kind)) if kind else ()
        a, b = whole_value(text, start, start + len(part), found)
        return text[a:b]

    assert widened("She paid 1,150 pounds for it.", "150 pounds") == "1,150 pounds"
    assert widened("Director: Rosalind Pemberton-Hay", "Rosalind Pemberton") == "Rosalind Pemberton-Hay"
    assert widened("Phone: 01822 614 093", "01822 614", AnswerType.PHONE) == "01822 614 093"
    assert widened("See www.choir.org.uk.", "www.choir.org", AnswerType.WEB_ADDRESS) == "www.choir.org.uk"
    assert widened("It opened in March, then closed.", "March") == "March"
