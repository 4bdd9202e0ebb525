"""The reader model reads a question with each sentence and says which one answers; trained here on
SQuAD questions that are never measured, on top of the bundled MiniLM's own lower layers."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rag import bert, train_reader
from rag.evalsets import SHARED_EVAL, SQUAD_SAMPLE, SQUAD_SEED, file_name
from rag.reader_model import base_folder, pair_text, reader_model

SENTENCES = [
    "The bridge is painted a deep red that was chosen by the architect's wife.",
    "Work on the bridge began in 1927 and it was opened to traffic in 1932.",
    "Its main span is 503 metres long.",
    "The bridge was designed by John Bradfield.",
]


def scores(question: str) -> np.ndarray:
    model = reader_model()
    assert model is not None, "rag/reader_model.safetensors ships with the package"
    return model.logits(question, [pair_text("Harbour Bridge", s) for s in SENTENCES])


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("When could cars first cross the bridge?", 1),  # shares only "bridge" with the sentence
        ("How long is the bridge?", 2),  # the sentence says "span" and "metres", and "Its" for the bridge
        ("Who came up with the design?", 3),
    ],
)
def test_the_sentence_that_answers_scores_above_its_neighbours(question: str, answer: int) -> None:
    assert scores(question).argmax() == answer


def test_a_question_the_sentences_do_not_touch_scores_low_on_all() -> None:
    assert (scores("What is the capital of France?") < 0).all()


def test_each_pair_is_read_once_however_often_it_is_asked() -> None:
    model = reader_model()
    first = scores("How long is the bridge?")
    cached = len(model._cache)
    assert np.array_equal(scores("How long is the bridge?"), first)
    assert len(model._cache) == cached


@pytest.mark.parametrize(
    ("question", "sentence", "answer"),
    [
        ("How long is the bridge?", "Its main span is 503 metres long.", "503 metres"),
        ("Who designed the bridge?", "The bridge was designed by John Bradfield in 1923.", "John Bradfield"),
        (
            "What is pumped round the cooling loop?",
            "The cooling loop uses heavy water from the lake.",
            "heavy water",
        ),
    ],
)
def test_the_span_head_marks_the_answer_inside_the_sentence(
    question: str, sentence: str, answer: str
) -> None:
    found = reader_model().span(question, "Harbour Bridge", sentence)
    assert found is not None
    assert sentence[found[0] : found[1]] == answer


def test_a_span_after_scoring_reuses_the_lower_layers_and_marks_the_same_words() -> None:
    model = reader_model()
    question, sentence = "Who designed the bridge?", "The bridge was designed by John Bradfield in 1923."
    pair = (question, pair_text("Harbour Bridge", sentence))
    model._lower.clear()
    model._cache.pop(pair, None)
    cold = model.span(question, "Harbour Bridge", sentence)
    model.logits(question, [pair[1]])
    assert pair in model._lower
    assert model.span(question, "Harbour Bridge", sentence) == cold


def test_the_lower_layers_are_the_embedding_models_own() -> None:
    ours = reader_model().encoder
    bundled = bert.load(base_folder(), ours.word.weight.dtype)
    assert torch.equal(ours.layers[0].query.weight, bundled.layers[0].query.weight)
    trained = len(ours.layers) - train_reader.TRAINED_LAYERS
    assert not torch.equal(ours.layers[trained].query.weight, bundled.layers[trained].query.weight)
    span_layers, _ = reader_model().spans
    assert span_layers[0] is ours.layers[0]  # held once, shared with the sentence reader
    assert not torch.equal(span_layers[trained].query.weight, ours.layers[trained].query.weight)


NEEDS_SHARED = pytest.mark.skipif(not (SHARED_EVAL / "squad-v1.1").exists(), reason="needs ../shared/eval")


@NEEDS_SHARED
def test_training_never_sees_a_measured_question_or_a_held_out_article() -> None:
    import random

    rows = train_reader.examples()
    every = [json.loads(line) for line in (SHARED_EVAL / "squad-v1.1" / "questions.jsonl").open()]
    measured = {r["id"] for r in random.Random(SQUAD_SEED).sample(every, SQUAD_SAMPLE)}
    trained_on = {r["id"] for r in rows}
    assert len(rows) > 5000
    assert not trained_on & measured
    titles = {r["title"] for r in rows}
    assert "Normans" not in titles and "Sky (United Kingdom)" not in titles  # our everyday-words articles
    assert all(sum(label for _, label in r["pairs"]) == 1 for r in rows)


@NEEDS_SHARED
def test_the_held_out_articles_include_every_article_our_own_questions_ask_about() -> None:
    wiki5 = {p.name for p in (SHARED_EVAL / "squad2-wiki5" / "corpus").glob("*.txt")}
    paragraphs = (SHARED_EVAL / "squad-v1.1" / "paragraphs.jsonl").open()
    held = train_reader.held_out(sorted({json.loads(line)["title"] for line in paragraphs}))
    assert len(wiki5) == 5 and len(held) == 11
    assert {file_name(t.replace("_", " ")) for t in held} >= wiki5


@pytest.mark.parametrize("name", ["reader_model.safetensors", "reader_span.safetensors"])
def test_weights_files_hold_only_the_trained_layers_and_the_head(name: str) -> None:
    from safetensors import safe_open

    with safe_open(Path(__file__).parents[2] / "rag" / name, framework="pt") as f:
        keys = set(f.keys())
    layers = {k.split(".")[1] for k in keys if k.startswith("layers.")}
    assert layers == {"3", "4", "5"} and {"head.weight", "head.bias"} <= keys
