"""Fit the reader's sentence weights and the abstention decision on questions with known answers.

python -m rag.fit --set QA CORPUS STORE [--set ...] [--out rag/reader_weights.json]

Each set's corpus is ingested into STORE (kept and reused). Sentence weights: logistic regression of
"this sentence holds a gold answer" on the reader's features. Abstention: logistic regression of
"the question is answerable" on the signals, with the threshold set so that at most --answerable-abstain
of the answerable questions abstain.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag import abstention, reading
from rag.answering import ExtractiveAnswerer
from rag.assistant import build_assistant
from rag.embedding import load_embedder
from rag.eval import Question, answer_text, contains_answer, load_questions, short_answer, token_f1
from rag.ingestion import ingest
from rag.models import Passage
from rag.reader_model import reader_model
from rag.retrieval import Query
from rag.settings import Settings


@dataclass
class Case:
    """A question with what retrieval found for it, kept so weights can be refitted without retrieving."""

    question: Question
    query: Query
    passages: list[Passage]
    idf: dict[str, float]


def collect(qa: Path, corpus: Path, store: Path, settings: Settings, limit: int | None) -> list[Case]:
    """Retrieve the passages of every question of a set, ingesting its corpus first; kept in the store
    folder, so refitting the reader needs no retrieval."""
    cache = store / f"cases-{qa.stem}-{limit}.pickle"
    if cache.exists() and cache.stat().st_mtime > max(qa.stat().st_mtime, _code_time()):
        return pickle.loads(cache.read_bytes())
    embedder = load_embedder(settings.embed_model, settings.embed_precision)
    assistant = build_assistant(
        settings.model_copy(update={"data_dir": store, "chroma_host": None}), embedder
    )
    ingest(corpus, assistant.store, embedder, settings.chunk_size, settings.chunk_overlap)
    cases = []
    for q in load_questions(qa)[:limit]:
        # The same retrieval as a request's, follow-ups and changes of subject included.
        retrieved = assistant.retrieve(q.question, list(q.history) or None, settings.top_k)
        cases.append(Case(q, retrieved.query, retrieved.passages, assistant.retriever.idf(q.question)))
    cache.write_bytes(pickle.dumps(cases))
    return cases


def _code_time() -> float:
    """When retrieval last changed: cached passages older than that are stale."""
    here = Path(__file__).parent
    return max(
        (here / name).stat().st_mtime
        for name in ("retrieval.py", "store.py", "lexical.py", "condense.py", "assistant.py")
    )


def answers(cases: list[Case], settings: Settings) -> dict[str, dict[str, float]]:
    """The figures `rag.eval` reports, from the kept passages, per kind of question."""
    answerer = ExtractiveAnswerer(max_sentences=settings.answer_sentences)
    rows: dict[str, dict[str, list[float]]] = {}
    for case in cases:
        q = case.question
        passages = case.passages
        weak = abstention.abstains(q.question, passages, case.idf, settings.min_relevance)
        row = rows.setdefault((q.kind or "-") + ("" if q.answerable else " (unanswerable)"), {})
        row.setdefault("abstain", []).append(weak)
        if q.answerable:
            answer = answerer.answer(case.query, passages)
            row.setdefault("accuracy", []).append(
                not weak and contains_answer(answer_text(answer), q.answers)
            )
            row.setdefault("short_f1", []).append(0.0 if weak else token_f1(short_answer(answer), q.answers))
            row.setdefault("words", []).append(len(answer_text(answer).split()))
    return {kind: {k: float(np.mean(v)) for k, v in row.items()} for kind, row in rows.items()}


def logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 30) -> np.ndarray:
    """Weights of a logistic regression (the first column is the bias), by Newton's method; both classes
    weigh the same in total, however many examples each has."""
    sw = np.where(y == 1, 0.5 / max(1, y.sum()), 0.5 / max(1, (1 - y).sum()))
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (sw * (p - y)) + l2 * w
        hessian = (x.T * (sw * p * (1 - p))) @ x + l2 * np.eye(len(w))
        w -= np.linalg.solve(hessian, gradient)
    return w


def standardized_logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """logistic() on columns scaled to unit spread, returned as weights on the raw columns: the penalty
    then weighs every signal alike, not those with a narrow range (a cosine) more."""
    mean, spread = x[:, 1:].mean(0), x[:, 1:].std(0)
    spread[spread == 0] = 1.0
    w = logistic(np.c_[x[:, :1], (x[:, 1:] - mean) / spread], y)
    raw = w[1:] / spread
    return np.r_[w[0] - raw @ mean, raw]


def sentence_groups(cases: list[Case]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per answerable question that retrieval can answer: its sentences' features, and which hold a gold
    answer."""
    groups = []
    for case in cases:
        q = case.question
        if not q.answerable:
            continue
        readings = reading.read(q.question, case.passages)
        labels = [contains_answer(r.text, q.answers) for r in readings]
        if any(labels) and not all(labels):
            groups.append((np.array([r.features for r in readings]), np.array(labels, dtype=float)))
    return groups


def choice_model(
    groups: list[tuple[np.ndarray, np.ndarray]], l2: float = 1e-2, steps: int = 400
) -> np.ndarray:
    """Weights of a conditional logit: within each question, a softmax over its sentences should put its
    mass on the sentences that hold the answer (maximum likelihood, Adam)."""
    w = np.zeros(groups[0][0].shape[1])
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for step in range(1, steps + 1):
        gradient = l2 * w
        for x, y in groups:
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            q = p * y / (p * y).sum()  # the posterior over the sentences that hold the answer
            gradient -= (q - p) @ x / len(groups)
        m = 0.9 * m + 0.1 * gradient
        v = 0.999 * v + 0.001 * gradient**2
        w -= 0.05 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return w


def lead_accuracy(cases: list[Case]) -> float:
    """Share of answerable questions whose best sentence holds a gold answer."""
    answerable = [c for c in cases if c.question.answerable]
    hits = 0
    for case in answerable:
        readings = reading.read(case.question.question, case.passages)
        hits += bool(readings) and contains_answer(readings[0].text, case.question.answers)
    return hits / max(1, len(answerable))


MODEL_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
MODEL_WEIGHT_TIE = 0.002  # lead accuracy: about two questions of the fitting sets
MODEL_CHECKS = 6  # the most sentences the reader model reads per question (see reading.READ_WITHIN)


def model_weight(cases: list[Case], out: Path, fitted: dict) -> tuple[float, float]:
    """The weight of the reader model's logit that best picks the lead sentence; written to out."""
    tried = {}
    model = reader_model()
    if model is not None:
        model.cache_size = 1 << 20  # every weight reads the same pairs: read them once
    for weight in MODEL_WEIGHTS:
        fitted["reader_model"] = {"weight": weight, "checked": MODEL_CHECKS}
        out.write_text(json.dumps(fitted, indent=1) + "\n")
        reading.model_use.cache_clear()
        tried[weight] = lead_accuracy(cases)
        print(f"  reader model weight {weight}: lead sentence holds the answer {tried[weight]:.3f}")
    # Weights a question or two apart pick the lead equally well; the smallest keeps the features' say and
    # the lead's share less sharp, so a likely second sentence is still added.
    best = min(w for w in tried if tried[w] >= max(tried.values()) - MODEL_WEIGHT_TIE)
    fitted["reader_model"] = {"weight": best, "checked": MODEL_CHECKS}
    out.write_text(json.dumps(fitted, indent=1) + "\n")
    reading.model_use.cache_clear()
    return best, tried[best]


def abstention_rows(cases: list[Case]) -> tuple[np.ndarray, np.ndarray, list[Question]]:
    xs, ys, qs = [], [], []
    for case in cases:
        readings = reading.read(case.question.question, case.passages)
        xs.append(abstention.signals(case.question.question, case.passages, readings, case.idf))
        ys.append(case.question.answerable)
        qs.append(case.question)
    return np.array(xs), np.array(ys, dtype=float), qs


COSINE_FLOORS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.33, 0.35, 0.4)  # tried for the low_cosine signal


def fit_abstention(
    x: np.ndarray, y: np.ndarray, calibration: np.ndarray, floor: float, answerable_abstain: float
) -> tuple[float, np.ndarray, float, np.ndarray]:
    """With the given cosine floor: the weights, the threshold at which at most answerable_abstain of the
    calibration questions abstain, and every question's probability of being answerable."""
    x = x.copy()
    cosine = abstention.SIGNALS.index("sentence_cosine")
    x[:, abstention.SIGNALS.index("low_cosine")] = [abstention.low_cosine(c, floor) for c in x[:, cosine]]
    w = standardized_logistic(x, y)
    p = 1 / (1 + np.exp(-(x @ w)))
    answerable = np.sort(p[calibration])
    threshold = float(answerable[max(0, math.floor(answerable_abstain * len(answerable)) - 1)])
    return floor, w, threshold, p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.fit", description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs=3, action="append", metavar=("QA", "CORPUS", "STORE"), required=True)
    parser.add_argument("--limit", type=int, help="at most N questions of each set")
    parser.add_argument("--answerable-abstain", type=float, default=0.03)
    parser.add_argument("--out", type=Path, default=reading.WEIGHTS_FILE)
    parser.add_argument(
        "--report", action="store_true", help="only report the figures of the current weights"
    )
    parser.add_argument(
        "--unanswerable-kinds",
        default="off_topic",
        help="kinds of unanswerable question the abstention learns from (comma-separated); by default "
        "only off-topic ones: on-topic ones look answerable by every signal here and only blur the line "
        "(off-topic abstained 0.78 with them, 0.91 without, on-topic 0.03 either way); SQuAD 2.0's "
        "adversarial ones teach wording tricks, not missing facts",
    )
    parser.add_argument(
        "--calibrate-on",
        default="paraphrase",
        help="kind of answerable question whose abstention rate sets the threshold (default: our "
        "everyday-words questions, the hardest to tell from a miss); all answerable ones if absent",
    )
    args = parser.parse_args(argv)
    settings = Settings()
    cases = [
        c
        for qa, corpus, store in args.set
        for c in collect(Path(qa), Path(corpus), Path(store), settings, args.limit)
    ]
    print(
        f"{len(cases)} questions, lead sentence holds the answer: {lead_accuracy(cases):.3f} (weights before)"
    )
    if args.report:
        for kind, figures in answers(cases, settings).items():
            print(f"  {kind}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
        return 0

    groups = sentence_groups(cases)
    w = choice_model(groups)
    fitted = json.loads(args.out.read_text()) if args.out.exists() else {}
    fitted["weights"] = {name: round(float(v), 4) for name, v in zip(reading.FEATURES, w, strict=True)}
    args.out.write_text(json.dumps(fitted, indent=1) + "\n")
    reading.weights.cache_clear()
    print(f"{len(groups)} questions to choose a sentence in; weights {fitted['weights']}")
    print(f"lead sentence holds the answer: {lead_accuracy(cases):.3f} (fitted)")
    if reader_model() is not None:
        weight, accuracy = model_weight(cases, args.out, fitted)
        print(f"reader model's weight {weight}: lead sentence holds the answer: {accuracy:.3f}")

    kinds = {k for k in args.unanswerable_kinds.split(",") if k}
    x, y, qs = abstention_rows([c for c in cases if c.question.answerable or c.question.kind in kinds])
    calibration = np.array([q.answerable and q.kind == args.calibrate_on for q in qs])
    if not calibration.any():
        calibration = y == 1
    floor, w, threshold, p = max(
        (fit_abstention(x, y, calibration, floor, args.answerable_abstain) for floor in COSINE_FLOORS),
        key=lambda fit: (np.mean(fit[3][y == 0] < fit[2]), -fit[0]),  # most unanswerable ones abstain
    )
    print(f"cosine floor {floor}: unanswerable abstain {np.mean(p[y == 0] < threshold):.3f}")
    fitted["abstention"] = {
        "weights": {name: round(float(v), 4) for name, v in zip(abstention.SIGNALS, w, strict=True)},
        "threshold": round(threshold, 4),
        "cosine_floor": floor,
    }
    args.out.write_text(json.dumps(fitted, indent=1) + "\n")
    abstain = p < threshold
    for kind in sorted({q.kind for q in qs}):
        chosen = [i for i, q in enumerate(qs) if q.kind == kind]
        for answerable_flag in (True, False):
            part = [i for i in chosen if qs[i].answerable == answerable_flag]
            if part:
                print(
                    f"  {kind or '-'} answerable={answerable_flag}: {len(part)} questions, "
                    f"abstain {np.mean(abstain[part]):.3f}"
                )
    print(f"abstention: threshold {threshold:.4f}, weights {fitted['abstention']['weights']}")
    abstention._fitted.cache_clear()
    for kind, figures in answers(cases, settings).items():
        print(f"  {kind}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
