"""Train the reader model (rag/reader_model.py) on SQuAD v1.1 dev questions; writes its weights.

python -m rag.train_reader [--epochs 1] [--out rag/reader_model.safetensors]

Each question is paired with the sentence of its paragraph that holds the answer (label 1), up to four
other sentences of that paragraph and two of other paragraphs of the article (label 0). Left out, so
that every figure the README reports is measured on questions the model never saw: the 1,500 measured
SQuAD questions, the 500 that `rag.fit` fits on, and every question on the held-out articles (the five
of squad2-wiki5, which our everyday-words questions ask about, and six more, see `held_out`). About
6,000 questions, 38,000 pairs; one epoch takes about 15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from pathlib import Path

from rag.chunking import split_sentences
from rag.evalsets import SHARED_EVAL, SQUAD_SAMPLE, SQUAD_SEED, file_name
from rag.reader_model import MAX_TOKENS, WEIGHTS, base_folder, pair_text

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
        pairs = [(gold[0].text, 1)] + [(s.text, 0) for s in others[:4]] + [(s.text, 0) for s in far[:2]]
        rows.append(
            {"id": q["id"], "question": q["question"], "title": q["title"].replace("_", " "), "pairs": pairs}
        )
    rng.shuffle(rows)
    return rows


def train(rows: list[dict], epochs: float, out: Path, seed: int = 0) -> None:
    """Fine-tune the top layers and a head with binary cross-entropy, then save them as float16."""
    import torch
    from safetensors.torch import save_file
    from tokenizers import Tokenizer
    from torch import nn

    from rag import bert

    torch.manual_seed(seed)
    shuffle = random.Random(seed)
    folder = base_folder()
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    model = bert.load(folder, torch.float32)
    head = nn.Linear(model.word.embedding_dim, 1)
    frozen = len(model.layers) - TRAINED_LAYERS
    for p in model.parameters():
        p.requires_grad = False
    trained = [p for layer in model.layers[frozen:] for p in layer.parameters()]
    for p in trained:
        p.requires_grad = True

    def logits(groups: list[dict]) -> tuple[torch.Tensor, torch.Tensor]:
        encodings = tokenizer.encode_batch(
            [(g["question"], pair_text(g["title"], t)) for g in groups for t, _ in g["pairs"]]
        )
        labels = torch.tensor([float(label) for g in groups for _, label in g["pairs"]])
        width = max(len(e.ids) for e in encodings)
        ids = torch.zeros((len(encodings), width), dtype=torch.long)
        types, mask = torch.zeros_like(ids), torch.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = torch.tensor(e.ids)
            types[row, : len(e.ids)] = torch.tensor(e.type_ids)
            mask[row, : len(e.ids)] = 1
        x = model.norm(model.word(ids) + model.position(torch.arange(width)) + model.token_type(types))
        attend = mask.bool()[:, None, None, :]
        with torch.no_grad():  # the lower layers are not trained: no graph through them
            for layer in model.layers[:frozen]:
                x = layer(x, attend)
        for layer in model.layers[frozen:]:
            x = layer(x, attend)
        weights = mask.unsqueeze(-1).float()
        return head((x * weights).sum(1) / weights.sum(1)).squeeze(-1), labels

    optimiser = torch.optim.AdamW(
        [{"params": trained, "lr": 5e-5}, {"params": head.parameters(), "lr": 1e-3}], weight_decay=0.01
    )
    steps = int(len(rows) / QUESTIONS_PER_STEP * epochs)
    warmup = 100
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, 1 - s / steps)
    )
    order: list[int] = []
    while len(order) < steps * QUESTIONS_PER_STEP:
        order += shuffle.sample(range(len(rows)), len(rows))
    started = time.monotonic()
    model.train()
    for step in range(steps):
        groups = [rows[i] for i in order[step * QUESTIONS_PER_STEP : (step + 1) * QUESTIONS_PER_STEP]]
        scores, labels = logits(groups)
        # The answering sentence is one in seven: weigh it twice so the head does not learn "never".
        loss = nn.functional.binary_cross_entropy_with_logits(scores, labels, pos_weight=torch.tensor(2.0))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 100 == 0:
            print(
                f"step {step}/{steps} loss {loss.item():.3f} {time.monotonic() - started:.0f} s", flush=True
            )
    state = {
        f"layers.{i}.{name}": value.detach().half().contiguous()
        for i in range(frozen, len(model.layers))
        for name, value in model.layers[i].state_dict().items()
    }
    state.update({name: value.detach().half().contiguous() for name, value in head.state_dict().items()})
    save_file({f"head.{k}" if k in ("weight", "bias") else k: v for k, v in state.items()}, str(out))
    print(f"wrote {out} after {steps} steps, {time.monotonic() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.train_reader", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    rows = examples()
    print(f"{len(rows)} questions, {sum(len(r['pairs']) for r in rows)} pairs")
    train(rows, args.epochs, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
