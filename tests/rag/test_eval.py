"""Quality floors on the shared questions, held a margin under what the pipeline reaches."""

import pytest

from rag.assistant import Assistant
from rag.eval import answer_text, contains_answer, load_questions, run
from rag.settings import Settings
from tests.conftest import SEED_QA, SQUAD

SEED = load_questions(SEED_QA)


@pytest.mark.parametrize("q", [q for q in SEED if q.answerable], ids=lambda q: q.question[:40])
def test_seed_question_is_answered_and_cites_its_source(corpus_assistant: Assistant, q) -> None:
    answer = corpus_assistant.ask(q.question)
    assert not answer.abstained
    assert contains_answer(answer_text(answer), q.answers), answer.answer
    assert q.source in {c.source for c in answer.citations}


@pytest.mark.parametrize("q", [q for q in SEED if not q.answerable], ids=lambda q: q.question[:40])
def test_seed_off_topic_question_abstains(corpus_assistant: Assistant, q) -> None:
    answer = corpus_assistant.ask(q.question)
    assert answer.abstained and not answer.citations


def test_squad_dev_quality_floor(corpus_assistant: Assistant) -> None:
    settings = Settings(_env_file=None)
    [scores] = run(SQUAD / "dev.jsonl", SQUAD / "corpus", ["hybrid"], settings)
    assert scores.hit_at_1 >= 0.90
    assert scores.hit_at_5 >= 0.97
    assert scores.answer_accuracy >= 0.85
    assert scores.abstain_answerable <= 0.03
