"""Train the reader model (rag/reader_model.py) on SQuAD v1.1 dev questions; writes its weights.

python -m rag.train_reader [sentences|spans] [--epochs N] [--out FILE]

sentences (1 epoch, rag/reader_model.safetensors): which sentence answers. spans (2 epochs,
rag/reader_span.safetensors): where in that sentence the answer is, starting from the sentence
reader's layers, on the same questions' gold sentences only.

Each question is paired with the sentence of its paragraph that holds the answer (label 1), up to four
other sentences of that paragraph and two of other paragraphs of the article (label 0). Left out, so
that every figure the README reports is measured on questions the model never saw: the 1,500 measured
SQuAD questions, the 500 that `rag.fit` fits on, and every question on the held-out articles (the five
of squad2-wiki5, which our everyday-words questions ask about, and six more, see `held_out`). About
6,000 questions, 38,000 pairs; the sentence reader took 21 minutes on 2 busy cores, the span
head about 8.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from rag.chunking import split_sentences
from rag.evalsets import SHARED_EVAL, SQUAD_SAMPLE, SQUAD_SEED, file_name
from rag.reader_model import SPAN_WEIGHTS, WEIGHTS, base_folder, encode, fill, pair_text, tokenizer

TRAINED_LAYERS = 3  # the top layers trained; the lower ones stay the embedding model's
QUESTIONS_PER_STEP = 4


def held_out(titles: list[str], shared: Path = SHARED_EVAL) -> set[str]:
    """Articles never trained on: those of squad2-wiki5, and every seventh of the rest (sorted)."""
    wiki5 = {p.name for p in (shared / "squad2-wiki5" / "corpus").glob("*.txt")}
    held = {t for t in titles if file_name(t.replace("_", " ")) in wiki5}
    rest = sorted(set(titles) - held)
    return held | {rest[i] for i in range(3, len(rest), 7)}


def examples(shared: Path = SHARED_EVAL, seed: int = 7) -> list[dict]:
    """Per training question: its text, its article's title and (sentence, label) pairs."""
    root = shared / "squad-v1.1"
    paragraphs: dict[str, dict] = {}
    by_title: dict[str, list[str]] = defaultdict(list)
    for line in (root / "paragraphs.jsonl").read_text().splitlines():
        row = json.loads(line)
        paragraphs[row["_id"]] = row
        by_title[row["title"]].append(row["_id"])
    every = [json.loads(line) for line in (root / "questions.jsonl").read_text().splitlines()]
    # The same draws as rag.evalsets: the measured sample, then the questions rag.fit fits on.
    measured = {r["id"] for r in random.Random(SQUAD_SEED).sample(every, SQUAD_SAMPLE)}
    rest = [r for r in every if r["id"] not in measured]
    fitting = {r["id"] for r in random.Random(SQUAD_SEED + 1).sample(rest, SQUAD_SAMPLE)}
    held = held_out(list(by_title), shared)
    sentences = {pid: split_sentences(p["text"]) for pid, p in paragraphs.items()}
    rng = random.Random(seed)
    rows = []
    for q in every:
        if q["id"] in measured or q["id"] in fitting or q["title"] in held:
            continue
        own = sentences[q["gold_paragraph_id"]]
        gold = [s for s in own if any(s.start <= a < s.end for a in q["answer_starts"])]
        if not gold:
            continue
        others = [s for s in own if s not in gold]
        rng.shuffle(others)
        elsewhere = [p for p in by_title[q["title"]] if p != q["gold_paragraph_id"]]
        far = [
            rng.choice(sentences[p]) for p in rng.sample(elsewhere, min(3, len(elsewhere))) if sentences[p]
        ]
        # Where the answer sits in the gold sentence, in characters: what the span head learns to mark.
        answer, at = next(
            (a, s)
            for a, s in zip(q["answers"], q["answer_starts"], strict=False)
            if gold[0].start <= s < gold[0].end
        )
        span = (at - gold[0].start, min(at - gold[0].start + len(answer), len(gold[0].text)))
        pairs = [(gold[0].text, 1)] + [(s.text, 0) for s in others[:4]] + [(s.text, 0) for s in far[:2]]
        rows.append(
            {
                "id": q["id"],
                "question": q["question"],
                "title": q["title"].replace("_", " "),
                "pairs": pairs,
                "span": span,
            }
        )
    rng.shuffle(rows)
    return rows


def _trainable(start_from: Path | None) -> tuple[Any, int, list[Any]]:
    """The bundled encoder in float32 (its top layers from start_from, if given), how many lower layers
    stay frozen, and the parameters to train."""
    import torch

    from rag import bert

    model = bert.load(base_folder(), torch.float32)
    if start_from is not None:
        fill(model.layers, torch.nn.Linear(model.word.embedding_dim, 1), start_from)  # its head unused
    frozen = len(model.layers) - TRAINED_LAYERS
    for p in model.parameters():
        p.requires_grad = False
    trained = [p for layer in model.layers[frozen:] for p in layer.parameters()]
    for p in trained:
        p.requires_grad = True
    return model, frozen, trained


def _states(model: Any, frozen: int, pairs: list[tuple[str, str]], tokenize: Any) -> tuple[Any, Any, list]:
    """The top layer's token states of a batch of (question, text) pairs, its attention mask and the
    pairs' encodings."""
    import torch

    ids, types, mask, encodings = encode(tokenize, pairs)
    with torch.no_grad():  # the lower layers are not trained: no graph through them
        x = model.run(model.embed(ids, types), mask, model.layers[:frozen])
    return model.run(x, mask, model.layers[frozen:]), mask, encodings


def _fit(loss_of: Any, items: list[Any], per_step: int, epochs: float, trained: list[Any], head: Any) -> None:
    """AdamW with a warm-up and a linear decay, over items in a seeded random order."""
    import torch

    shuffle = random.Random(0)
    optimiser = torch.optim.AdamW(
        [{"params": trained, "lr": 5e-5}, {"params": head.parameters(), "lr": 1e-3}], weight_decay=0.01
    )
    steps = int(len(items) / per_step * epochs)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / 100) * max(0.0, 1 - s / steps)
    )
    order: list[int] = []
    while len(order) < steps * per_step:
        order += shuffle.sample(range(len(items)), len(items))
    started = time.monotonic()
    for step in range(steps):
        loss = loss_of([items[i] for i in order[step * per_step : (step + 1) * per_step]])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 100 == 0:
            print(
                f"step {step}/{steps} loss {loss.item():.3f} {time.monotonic() - started:.0f} s", flush=True
            )


def _save(model: Any, frozen: int, head: Any, out: Path) -> None:
    """The trained layers and the head, as float16."""
    from safetensors.torch import save_file

    state = {
        f"layers.{i}.{name}": value.detach().half().contiguous()
        for i in range(frozen, len(model.layers))
        for name, value in model.layers[i].state_dict().items()
    }
    state |= {f"head.{name}": value.detach().half().contiguous() for name, value in head.state_dict().items()}
    save_file(state, str(out))
    print(f"wrote {out}")


def train_sentences(rows: list[dict], epochs: float, out: Path) -> None:
    """Which sentence answers: binary cross-entropy on the pooled pair, per sentence."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    tokenize = tokenizer()
    model, frozen, trained = _trainable(None)
    head = nn.Linear(model.word.embedding_dim, 1)

    def loss_of(groups: list[dict]) -> Any:
        pairs = [(g["question"], pair_text(g["title"], t)) for g in groups for t, _ in g["pairs"]]
        labels = torch.tensor([float(label) for g in groups for _, label in g["pairs"]])
        states, mask, _ = _states(model, frozen, pairs, tokenize)
        weights = mask.unsqueeze(-1).float()
        scores = head((states * weights).sum(1) / weights.sum(1)).squeeze(-1)
        # The answering sentence is one in seven: weigh it twice so the head does not learn "never".
        return nn.functional.binary_cross_entropy_with_logits(scores, labels, pos_weight=torch.tensor(2.0))

    model.train()
    _fit(loss_of, rows, QUESTIONS_PER_STEP, epochs, trained, head)
    _save(model, frozen, head, out)


def train_spans(rows: list[dict], epochs: float, out: Path, start_from: Path = WEIGHTS) -> None:
    """Where the answer is: start and end token of the answer in the gold sentence (cross-entropy over
    the sentence's tokens), from the sentence reader's top layers."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    tokenize = tokenizer()
    model, frozen, trained = _trainable(start_from)
    head = nn.Linear(model.word.embedding_dim, 2)
    items = []
    for r in rows:
        sentence = r["pairs"][0][0]
        text = pair_text(r["title"], sentence)
        shift = len(text) - len(sentence)
        items.append((r["question"], text, shift + r["span"][0], shift + r["span"][1]))

    def loss_of(batch: list[tuple[str, str, int, int]]) -> Any:
        states, _, encodings = _states(model, frozen, [(q, t) for q, t, _, _ in batch], tokenize)
        inside = torch.zeros(states.shape[:2], dtype=torch.bool)
        starts, ends, kept = [], [], []
        for row, (e, (_, _, a, b)) in enumerate(zip(encodings, batch, strict=True)):
            first = last = None
            for i, (segment, (s, t)) in enumerate(zip(e.sequence_ids, e.offsets, strict=True)):
                if segment != 1 or t <= s:
                    continue
                inside[row, i] = True
                if first is None and t > a:
                    first = i
                if s < b:
                    last = i
            ok = first is not None and last is not None and last >= first  # not cut off by truncation
            starts.append(first if ok else 0)
            ends.append(last if ok else 0)
            kept.append(ok)
        logits = head(states).masked_fill(~inside.unsqueeze(-1), -1e4)
        keep = torch.tensor(kept)
        start_loss = nn.functional.cross_entropy(logits[..., 0][keep], torch.tensor(starts)[keep])
        end_loss = nn.functional.cross_entropy(logits[..., 1][keep], torch.tensor(ends)[keep])
        return (start_loss + end_loss) / 2

    model.train()
    _fit(loss_of, items, 16, epochs, trained, head)
    _save(model, frozen, head, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.train_reader", description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", choices=("sentences", "spans"), default="sentences")
    parser.add_argument("--epochs", type=float, help="default: 1 for sentences, 2 for spans")
    parser.add_argument("--out", type=Path, help="default: the file rag/reader_model.py reads")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    rows = examples()
    print(f"{len(rows)} questions, {sum(len(r['pairs']) for r in rows)} pairs")
    if args.what == "sentences":
        train_sentences(rows, args.epochs or 1.0, args.out or WEIGHTS)
    else:
        train_spans(rows, args.epochs or 2.0, args.out or SPAN_WEIGHTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
