"""How many documents get a real title: SciFact abstracts as .txt files (title line, then the abstract),
and, as a control, SQuAD articles without their title line (whose first paragraph must not become one).

python benchmarks/titles.py [--shared ../shared/eval]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.documents import read_document  # noqa: E402
from rag.errors import UnreadableDocument  # noqa: E402

MAX_BYTES = 10_000_000


def titles_found(files: dict[str, str]) -> dict[str, str]:
    """File name → the title reading gives it, for files written to a temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        found = {}
        for name, text in files.items():
            (root / name).write_text(text)
            try:
                found[name] = read_document(root / name, root, MAX_BYTES).title
            except UnreadableDocument:
                continue
        return found


def scifact(shared: Path, separator: str) -> tuple[int, int]:
    """(abstracts whose title is the paper's title, abstracts in all)."""
    rows = [json.loads(line) for line in (shared / "scifact" / "corpus.jsonl").open()]
    files = {f"{r['_id']}.txt": f"{r['title']}{separator}{r['text']}\n" for r in rows}
    expected = {f"{r['_id']}.txt": " ".join(r["title"].split()) for r in rows}  # runs of spaces as one
    found = titles_found(files)
    return sum(found.get(name) == title for name, title in expected.items()), len(rows)


def squad_without_titles(shared: Path) -> tuple[int, int]:
    """(articles whose first paragraph was taken for a title, articles in all)."""
    articles: dict[str, list[str]] = defaultdict(list)
    for line in (shared / "squad-v1.1" / "paragraphs.jsonl").open():
        row = json.loads(line)
        articles[row["title"]].append(row["text"])
    files = {f"article-{i}.txt": "\n\n".join(texts) + "\n" for i, texts in enumerate(articles.values())}
    found = titles_found(files)
    return sum(not title.startswith("Article ") for title in found.values()), len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "eval")
    args = parser.parse_args()
    for label, separator in (("blank line", "\n\n"), ("line break", "\n")):
        real, total = scifact(args.shared, separator)
        missed = total - real
        print(f"SciFact, title then {label}: {real:,} of {total:,} get their real title, {missed:,} do not")
    false, total = squad_without_titles(args.shared)
    print(f"SQuAD articles without a title line: {false} of {total} take a paragraph for a title")


if __name__ == "__main__":
    main()
