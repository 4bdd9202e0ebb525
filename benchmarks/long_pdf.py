"""A very long PDF through `python -m ingest`: pages/s, chunks, wall, CPU seconds and peak RSS.

python benchmarks/long_pdf.py [--pages 20000] [--pdf PATH]

The PDF is generated with fpdf2 (four sentences a page, about 310 characters) unless --pdf names
one already made; it is kept at --pdf when that path does not exist yet. Peak RSS and CPU seconds
are the ingesting process's own, from wait4(2).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from words import WORDS as ALL_WORDS

ROOT = Path(__file__).resolve().parent.parent
# The first 16 of the shared words: the figures in the README were measured with these.
WORDS = ALL_WORDS[:16]


def make_pdf(pages: int, path: Path) -> None:
    from fpdf import FPDF

    rng = random.Random(1)
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for number in range(1, pages + 1):
        pdf.add_page()
        sentences = [
            f"On page {number} the {rng.choice(WORDS)} of district {rng.randint(1, 999)} was opened "
            f"in {rng.randint(1200, 2020)} beside the {rng.choice(WORDS)}."
            for _ in range(4)
        ]
        pdf.multi_cell(0, 6, " ".join(sentences))
    pdf.output(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--pdf", type=Path, help="reuse (or keep) the generated PDF here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        pdf = corpus / "long.pdf"
        if args.pdf and args.pdf.exists():
            pdf.write_bytes(args.pdf.read_bytes())
        else:
            started = time.perf_counter()
            make_pdf(args.pages, pdf)
            print(f"generated {args.pages:,} pages in {time.perf_counter() - started:.0f} s")
            if args.pdf:
                args.pdf.write_bytes(pdf.read_bytes())
        env = {**os.environ, "DATA_DIR": str(Path(tmp) / "data"), "PYTHONPATH": str(ROOT)}
        log = Path(tmp) / "stderr.txt"
        started = time.perf_counter()
        with log.open("wb") as stderr:
            child = subprocess.Popen(
                [sys.executable, "-m", "ingest", str(corpus)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
            assert child.stdout is not None
            summary = child.stdout.read().decode().strip()
            _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        pages = args.pages
        print(f"exit status {child.returncode}: {summary}")
        if child.returncode:
            print(log.read_text()[-2000:])
        print("| pages | PDF MB | chunks | wall s | CPU s | pages/s (wall) | peak RSS MB |")
        print("|---|---|---|---|---|---|---|")
        chunks = summary.split(" chunks ")[0].rsplit(" ", 1)[-1] if " chunks " in summary else "?"
        print(
            f"| {pages:,} | {pdf.stat().st_size / 1e6:.1f} | {chunks} | {wall:.0f} | {cpu:.0f} "
            f"| {pages / wall:.1f} | {usage.ru_maxrss / 1024:.0f} |"
        )


if __name__ == "__main__":
    main()
