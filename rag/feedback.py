"""Readers' ratings of answers, and their export as evaluation questions for `python -m rag.eval --qa`."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from rag.models import Answer


class Feedback(BaseModel):
    rating: Literal["up", "down"] = Field(description="Thumbs up or down.")
    comment: str | None = Field(None, max_length=2000, description="What was right or wrong, in words.")


def eval_row(question: str, answer: Answer, feedback: Feedback) -> dict[str, Any]:
    """One line of the evaluation format (question, answers, source, answerable) from rated feedback.

    A thumbs-up makes the quoted text the gold answer (or, on an abstention, marks the question
    unanswerable). A thumbs-down says the answer was wrong without saying what is right: its `answers`
    stay empty for an operator to fill in, and `needs_review` says so."""
    row: dict[str, Any] = {"question": question, "rating": feedback.rating, "comment": feedback.comment}
    if feedback.rating == "up" and answer.abstained:
        return row | {"answers": [], "source": None, "answerable": False, "needs_review": False}
    if feedback.rating == "up":
        first = answer.citations[0] if answer.citations else None
        gold = [c.quote.text for c in answer.citations if c.quote] or [
            s.text for c in answer.citations[:1] for s in c.sentences
        ]
        return row | {
            "answers": gold or [re.sub(r"\s*\[\d+\]", "", answer.answer)],
            "source": first.source if first else None,
            "answerable": True,
            "needs_review": False,
        }
    return row | {
        "answers": [],
        "source": None,
        "answerable": True,
        "needs_review": True,
        "given_answer": answer.answer,
    }


def as_eval_jsonl(given: list[tuple[str, Answer, Feedback]]) -> str:
    """Rated answers as JSONL, one evaluation question a line."""
    return "".join(json.dumps(eval_row(*g), ensure_ascii=False) + "\n" for g in given)
