"""Evaluation: ingest a corpus into a throw-away store, ask every question, print the figures.

python -m rag.eval --qa ../shared/eval/squad2-wiki5/dev.jsonl --corpus ../shared/eval/squad2-wiki5/corpus
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.answering import MAX_ANSWER_WORDS
from rag.assistant import Assistant, build_assistant
from rag.embedding import load_embedder
from rag.ingestion import ingest
from rag.models import Answer, Passage, Turn
from rag.reading import structure_at
from rag.retrieval import Mode
from rag.settings import Settings


@dataclass(frozen=True)
class Question:
    question: str
    answers: list[str]
    source: str | None
    answerable: bool
    kind: str = ""  # "on_topic" / "off_topic" split the unanswerable ones
    supporting: tuple[str, ...] = ()  # every source a multi-hop answer needs
    history: tuple[Turn, ...] = ()


@dataclass
class Scores:
    mode: str
    questions: int
    hit_at_1: float
    hit_at_5: float
    mrr: float
    answer_accuracy: float
    abstain_unanswerable: float
    abstain_answerable: float
    p50_ms: float
    p95_ms: float
    by_llm: float  # share of answers the LLM wrote itself, without falling back
    short_f1: float = 0.0  # token F1 of the answer span (else the first sentence) against the gold
    first_sentence_f1: float = 0.0
    abstain_on_topic: float | None = None  # unanswerable questions about the documents' subjects
    abstain_off_topic: float | None = None
    support_at_5: float | None = None  # multi-hop: every supporting source among the top 5
    structure_quoted: int = 0  # answers that quote a title, heading or table header
    mean_words: float = 0.0


def load_questions(path: Path) -> list[Question]:
    """Questions from a JSONL file with question, answers, source and answerable fields."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [
        Question(
            r["question"],
            r.get("answers") or [],
            r.get("source"),
            bool(r.get("answerable", True)),
            r.get("kind", ""),
            tuple(r.get("supporting") or ()),
            tuple(Turn(**t) for t in r.get("history") or ()),
        )
        for r in rows
    ]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def contains_answer(text: str, answers: list[str]) -> bool:
    """True when the text holds one of the gold answers, ignoring case and spacing."""
    haystack = _norm(text)
    return any(_norm(a) in haystack for a in answers if a.strip())


def answer_text(answer: Answer) -> str:
    """The answer without citation markers, cut to the word limit the metric allows."""
    words = re.sub(r"\s*\[\d+\]", "", answer.answer).split()
    return " ".join(words[:MAX_ANSWER_WORDS])


def _f1_tokens(text: str) -> list[str]:
    """SQuAD's normalisation: lower case, no punctuation, no articles."""
    text = re.sub(r"[^\w\s]", " ", text.lower())
    return [w for w in text.split() if w not in ("a", "an", "the")]


def token_f1(prediction: str, answers: list[str]) -> float:
    """The best token F1 of the prediction against any gold answer (the SQuAD definition)."""
    predicted = _f1_tokens(prediction)
    best = 0.0
    for gold in answers:
        truth = _f1_tokens(gold)
        common = sum((Counter(predicted) & Counter(truth)).values())
        if common:
            precision, recall = common / len(predicted), common / len(truth)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def first_sentence(answer: Answer) -> str:
    """The answer's lead sentence, without its citation marker."""
    lead = re.split(r"\s*\[\d+\]", answer.answer, maxsplit=1)[0]
    return lead.strip()


def short_answer(answer: Answer) -> str:
    """The exact answer span when the answerer marked one, else the lead sentence."""
    for c in answer.citations:
        if c.quote is not None:
            return c.quote.text
    return first_sentence(answer)


def quotes_structure(answer: Answer) -> bool:
    """True when a quoted sentence is a title, heading or table header of its passage (by the reader's
    own rule, which an answer should never break)."""
    return any(
        structure_at(c.text, c.title, span.start, span.end) for c in answer.citations for span in c.sentences
    )


def first_hit(passages: list[Passage], q: Question) -> int | None:
    """Rank (1-based) of the first passage from the right source that holds a gold answer."""
    for rank, p in enumerate(passages, 1):
        if p.chunk.source == q.source and contains_answer(p.chunk.text, q.answers):
            return rank
    return None


def evaluate(assistant: Assistant, questions: list[Question], mode: str, top_k: int = 5) -> Scores:
    """Ask every question through the same path as /ask and score the results."""
    ranks: list[int | None] = []
    correct = 0
    abstained = {True: 0, False: 0}
    by_kind: dict[str, list[bool]] = {"on_topic": [], "off_topic": []}
    latencies: list[float] = []
    by_llm = 0
    short_f1: list[float] = []
    lead_f1: list[float] = []
    supported: list[bool] = []
    structure = 0
    words: list[int] = []
    for q in questions:
        started = time.perf_counter()
        answer, passages = assistant.ask_with_evidence(q.question, list(q.history) or None, top_k=top_k)
        latencies.append((time.perf_counter() - started) * 1000)
        abstained[q.answerable] += answer.abstained
        if not q.answerable and q.kind in by_kind:
            by_kind[q.kind].append(answer.abstained)
        by_llm += answer.answerer == "llm" and answer.notice is None
        if not answer.abstained:
            structure += quotes_structure(answer)
            words.append(len(answer_text(answer).split()))
        if q.answerable:
            ranks.append(first_hit(passages, q))
            correct += not answer.abstained and contains_answer(answer_text(answer), q.answers)
            short_f1.append(0.0 if answer.abstained else token_f1(short_answer(answer), q.answers))
            lead_f1.append(0.0 if answer.abstained else token_f1(first_sentence(answer), q.answers))
            if q.supporting:
                top = {p.chunk.source for p in passages[:5]}
                supported.append(all(s in top for s in q.supporting))
    answerable = max(1, len(ranks))
    unanswerable = max(1, len(questions) - len(ranks))
    cuts = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
    return Scores(
        mode=mode,
        questions=len(questions),
        hit_at_1=sum(r == 1 for r in ranks) / answerable,
        hit_at_5=sum(r is not None and r <= 5 for r in ranks) / answerable,
        mrr=sum(1 / r for r in ranks if r) / answerable,
        answer_accuracy=correct / answerable,
        abstain_unanswerable=abstained[False] / unanswerable,
        abstain_answerable=abstained[True] / answerable,
        p50_ms=statistics.median(latencies),
        p95_ms=cuts[18],
        by_llm=by_llm / max(1, len(questions)),
        short_f1=statistics.fmean(short_f1) if short_f1 else 0.0,
        first_sentence_f1=statistics.fmean(lead_f1) if lead_f1 else 0.0,
        abstain_on_topic=statistics.fmean(by_kind["on_topic"]) if by_kind["on_topic"] else None,
        abstain_off_topic=statistics.fmean(by_kind["off_topic"]) if by_kind["off_topic"] else None,
        support_at_5=statistics.fmean(supported) if supported else None,
        structure_quoted=structure,
        mean_words=statistics.fmean(words) if words else 0.0,
    )


def run(
    qa: Path,
    corpus: Path,
    modes: list[Mode],
    settings: Settings,
    limit: int | None = None,
    store: Path | None = None,
) -> list[Scores]:
    """Ingest the corpus once (into store, kept for the next run, else a temporary one), then score
    each retrieval mode."""
    embedder = load_embedder(settings.embed_model, settings.embed_precision)
    questions = load_questions(qa)[:limit]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        update: dict[str, object] = {"data_dir": store or Path(tmp), "chroma_host": None}
        if settings.answerer == "local" and not settings.local_model_path:
            from rag.local_llm import bundled_model_path

            # The model file lives with the real data, not in the throw-away store.
            update["local_model_path"] = str(bundled_model_path(settings.data_dir / "models"))
        settings = settings.model_copy(update=update)
        first = build_assistant(settings, embedder)
        ingest(corpus, first.store, embedder, settings.chunk_size, settings.chunk_overlap)
        for mode in modes:
            assistant = build_assistant(settings, embedder, mode=mode)
            assistant.ask("warm up")
            results.append(evaluate(assistant, questions, mode))
    return results


def format_table(results: list[Scores]) -> str:
    """A Markdown table of the scores, one row per mode."""
    header = (
        "| mode | hit@1 | hit@5 | MRR | answer acc. | short F1 | lead F1 | abstain (answerable) "
        "| abstain (unanswerable) | on-topic | off-topic | both hops@5 | structure | words | p50 ms "
        "| p95 ms | by LLM |"
    )
    lines = [header, "|" + "---|" * 17]

    def opt(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    for s in results:
        lines.append(
            f"| {s.mode} | {s.hit_at_1:.3f} | {s.hit_at_5:.3f} | {s.mrr:.3f} | {s.answer_accuracy:.3f} "
            f"| {s.short_f1:.3f} | {s.first_sentence_f1:.3f} | {s.abstain_answerable:.3f} "
            f"| {s.abstain_unanswerable:.3f} | {opt(s.abstain_on_topic)} | {opt(s.abstain_off_topic)} "
            f"| {opt(s.support_at_5)} | {s.structure_quoted} | {s.mean_words:.0f} | {s.p50_ms:.1f} "
            f"| {s.p95_ms:.1f} | {s.by_llm:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.eval", description=__doc__.splitlines()[0])
    parser.add_argument("--qa", type=Path, required=True, help="questions, one JSON object a line")
    parser.add_argument("--corpus", type=Path, required=True, help="folder of documents to ingest")
    parser.add_argument(
        "--mode", choices=["hybrid", "dense", "bm25", "all"], default="hybrid", help="retrieval to score"
    )
    parser.add_argument("--chunk-size", type=int, help="override CHUNK_SIZE")
    parser.add_argument("--chunk-overlap", type=int, help="override CHUNK_OVERLAP")
    parser.add_argument("--min-relevance", type=float, help="override MIN_RELEVANCE")
    parser.add_argument(
        "--answerer", choices=["extractive", "openai_like", "ollama", "local"], help="override ANSWERER"
    )
    parser.add_argument("--limit", type=int, help="only the first N questions (for slow LLMs)")
    parser.add_argument(
        "--store", type=Path, help="keep the ingested corpus in this folder and reuse it next time"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    overrides = {
        k: v
        for k, v in {
            "chunk_size": args.chunk_size,
            "chunk_overlap": args.chunk_overlap,
            "min_relevance": args.min_relevance,
            "answerer": args.answerer,
        }.items()
        if v is not None
    }
    settings = Settings().model_copy(update=overrides)
    modes: list[Mode] = ["hybrid", "dense", "bm25"] if args.mode == "all" else [args.mode]
    results = run(args.qa, args.corpus, modes, settings, limit=args.limit, store=args.store)
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print(f"{args.qa} ({results[0].questions} questions), corpus {args.corpus}")
        print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
