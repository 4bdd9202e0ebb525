"""Rated answers become evaluation questions that `python -m rag.eval --qa` reads."""

from pathlib import Path

from rag.answering import abstain
from rag.eval import load_questions
from rag.feedback import Feedback, as_eval_jsonl, eval_row
from rag.models import Answer, Citation, Span

TEXT = "The keeper's cat is named Biscuit. Visitors climb on Sundays."


def cited(quote: Span | None = None) -> Answer:
    citation = Citation(
        id=1,
        source="lighthouse.pdf",
        title="The Harbour Lighthouse",
        text=TEXT,
        score=0.8,
        chunk_id="a-b-00000",
        start_char=0,
        end_char=len(TEXT),
        page=2,
        sentences=[Span(start=0, end=34, text=TEXT[:34])],
        quote=quote,
    )
    return Answer(answer=f"{TEXT[:34]} [1]", citations=[citation], abstained=False)


def test_thumbs_up_makes_the_exact_answer_gold_or_else_the_quoted_sentence() -> None:
    exact = eval_row("Cat?", cited(Span(start=26, end=33, text="Biscuit")), Feedback(rating="up"))
    assert exact["answers"] == ["Biscuit"] and exact["source"] == "lighthouse.pdf" and exact["answerable"]
    sentence = eval_row("Cat?", cited(), Feedback(rating="up"))
    assert sentence["answers"] == ["The keeper's cat is named Biscuit."]


def test_thumbs_up_on_an_abstention_marks_the_question_unanswerable() -> None:
    row = eval_row("Who won the cup?", abstain(), Feedback(rating="up"))
    assert row["answerable"] is False and row["answers"] == [] and not row["needs_review"]


def test_thumbs_down_asks_for_review_and_keeps_what_was_said() -> None:
    row = eval_row("Cat?", cited(), Feedback(rating="down", comment="wrong cat"))
    assert row["needs_review"] and row["answers"] == [] and row["comment"] == "wrong cat"
    assert row["given_answer"].startswith("The keeper's cat")


def test_the_export_is_read_by_the_evaluation_command(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    path.write_text(
        as_eval_jsonl([("Cat?", cited(), Feedback(rating="up")), ("Cup?", abstain(), Feedback(rating="up"))])
    )
    questions = load_questions(path)
    assert [(q.question, q.answerable, q.source) for q in questions] == [
        ("Cat?", True, "lighthouse.pdf"),
        ("Cup?", False, None),
    ]
