"""The public benchmarks in ../shared/eval turned into what `rag.eval` reads: a corpus folder and a QA file.

python -m rag.evalsets squad-v1.1 OUT_DIR   (also: hotpotqa)
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import defaultdict
from pathlib import Path

SHARED_EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"
# The sample that issue reports and the README quote: 1,500 SQuAD v1.1 questions, fixed by a seed.
SQUAD_SAMPLE = 1500
SQUAD_SEED = 13


def file_name(title: str) -> str:
    """A corpus file name for a title: lower case, words joined by hyphens."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "untitled"
    return f"{slug[:80]}.txt"


def prepare_squad(
    out: Path, shared: Path = SHARED_EVAL, sample: int | None = SQUAD_SAMPLE
) -> tuple[Path, Path]:
    """SQuAD v1.1 dev: one file per article (title, then paragraphs), and a sample of its questions."""
    root = shared / "squad-v1.1"
    paragraphs: dict[str, list[str]] = defaultdict(list)
    for line in (root / "paragraphs.jsonl").read_text().splitlines():
        row = json.loads(line)
        paragraphs[row["title"]].append(row["text"])
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for title, texts in paragraphs.items():
        path = corpus / file_name(title)
        text = "\n\n".join([title.replace("_", " "), *texts]) + "\n"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    every = [json.loads(line) for line in (root / "questions.jsonl").read_text().splitlines()]
    rows = every
    if sample and sample < len(every):
        rows = random.Random(SQUAD_SEED).sample(every, sample)
        # Questions to fit weights on (`python -m rag.fit`), never among those that are measured.
        measured = {r["id"] for r in rows}
        rest = [r for r in every if r["id"] not in measured]
        write_squad(out / "train.jsonl", random.Random(SQUAD_SEED + 1).sample(rest, sample))
    qa = out / "qa.jsonl"
    write_squad(qa, rows)
    return corpus, qa


def write_squad(path: Path, rows: list[dict]) -> None:
    with path.open("w") as f:
        for r in rows:
            question = {
                "id": r["id"],
                "question": r["question"],
                "answers": sorted(set(r["answers"])),
                "source": file_name(r["title"]),
                "answerable": True,
                "kind": "squad",
            }
            f.write(json.dumps(question) + "\n")


def prepare_hotpotqa(out: Path, shared: Path = SHARED_EVAL) -> tuple[Path, Path]:
    """HotpotQA sample: one file per paragraph (title, then text); questions name both supporting files."""
    root = shared / "hotpotqa-sample"
    paragraphs = json.loads((root / "hotpotqa_train_corpus.json").read_text())
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    for title, sentences in paragraphs.items():
        name = file_name(title)
        while name in names.values():  # two titles that slug alike
            name = name.replace(".txt", "-.txt")
        names[title] = name
        (corpus / name).write_text(f"{title}\n\n{''.join(sentences).strip()}\n")
    qa = out / "qa.jsonl"
    with qa.open("w") as f:
        for r in json.loads((root / "hotpotqa_train.json").read_text()):
            supporting = sorted({names[t] for t, _ in r["supporting_facts"]})
            question = {
                "id": r["_id"],
                "question": r["question"],
                "answers": [r["answer"]],
                "source": supporting[0],
                "supporting": supporting,
                "answerable": True,
                "kind": f"hotpot-{r['type']}",
            }
            f.write(json.dumps(question) + "\n")
    return corpus, qa


REPO = Path(__file__).resolve().parent.parent


def prepare_paraphrase(out: Path, shared: Path = SHARED_EVAL) -> tuple[Path, Path]:
    """Our own questions in everyday words (eval/*.jsonl) over the five Wikipedia articles and the
    shipped article: one corpus folder holding all six."""
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for folder in (shared / "squad2-wiki5" / "corpus", REPO / "corpus"):
        for path in sorted(folder.glob("*.txt")):
            target = corpus / path.name
            if not target.exists() or target.read_bytes() != path.read_bytes():
                target.write_bytes(path.read_bytes())
    return corpus, REPO / "eval" / "paraphrase-dev.jsonl"


PREPARE = {"squad-v1.1": prepare_squad, "hotpotqa": prepare_hotpotqa, "paraphrase": prepare_paraphrase}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.evalsets", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(PREPARE))
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    corpus, qa = PREPARE[args.name](args.out)
    print(f"corpus: {corpus}\nquestions: {qa}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
