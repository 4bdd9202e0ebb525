"""Speed of the local LLM (ANSWERER=local) on real prompts: retrieved passages for dev questions.

python benchmarks/local_llm.py [--questions 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "eval" / "squad2-wiki5"
sys.path.insert(0, str(ROOT))

from rag.assistant import build_assistant  # noqa: E402
from rag.eval import load_questions  # noqa: E402
from rag.ingestion import ingest  # noqa: E402
from rag.local_llm import bundled_model_path, load_local_llm  # noqa: E402
from rag.prompt import answer_messages  # noqa: E402
from rag.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    model = str(bundled_model_path(Path(".data/models")))
    started = time.perf_counter()
    llm = load_local_llm(model, args.max_tokens)
    print(f"model {Path(model).name}, loaded in {time.perf_counter() - started:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp))
        assistant = build_assistant(settings)
        ingest(
            SQUAD / "corpus", assistant.store, assistant.embedder, settings.chunk_size, settings.chunk_overlap
        )
        questions = [q for q in load_questions(SQUAD / "dev.jsonl") if q.answerable][: args.questions]
        rates, firsts, counts = [], [], []
        for q in questions:
            passages = assistant.search(q.question)
            started = time.perf_counter()
            first = None
            pieces = 0
            for r in llm.stream_chat(answer_messages(q.question, passages)):
                if r.delta:
                    pieces += 1
                    first = first or time.perf_counter() - started
            total = time.perf_counter() - started
            rates.append((pieces - 1) / max(1e-9, total - (first or 0)))
            firsts.append((first or total) * 1000)
            counts.append(pieces)
    print(f"{len(questions)} dev questions, top-5 passages in the prompt, up to {args.max_tokens} tokens")
    print(f"tokens/s after the first: median {statistics.median(rates):.1f}")
    print(f"time to first token: median {statistics.median(firsts):.0f} ms (prompt processing)")
    print(f"tokens per answer: median {statistics.median(counts):.0f}")


if __name__ == "__main__":
    main()
