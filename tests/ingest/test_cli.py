"""`python -m ingest` as an operator runs it: a real process, real files, a real store."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.assistant import build_assistant
from rag.corpus import run_ingestion
from rag.ingestion import IngestionLock
from rag.lexical import LexicalIndex
from rag.settings import Settings
from rag.store import open_store
from tests.conftest import ROOT, make_pdf, make_settings, process_env


def run_ingest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_missing_path_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    result = run_ingest(tmp_path, str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "path does not exist" in result.stderr


def test_empty_folder_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_ingest(tmp_path, str(tmp_path / "empty"))
    assert result.returncode == 2
    assert "no documents" in result.stderr


def test_ingest_prints_a_summary_and_a_second_run_writes_nothing(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Alpha\n\nAlpha is the first letter of the Greek alphabet.")
    first = run_ingest(tmp_path, str(corpus))
    assert first.returncode == 0, first.stderr
    assert "1 documents (1 added" in first.stdout and "1 chunks written" in first.stdout
    assert "100%" in first.stderr  # the progress bar
    second = run_ingest(tmp_path, str(corpus))
    assert "1 unchanged" in second.stdout and "0 chunks written" in second.stdout


def test_dry_run_lists_the_plan_and_exit_status_tells_of_failed_files(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Alpha\n\nAlpha is the first letter.")
    (corpus / "empty.txt").write_text("")
    plan = run_ingest(tmp_path, str(corpus), "--dry-run")
    assert "would add: a.md" in plan.stdout and "would be written" in plan.stdout
    result = run_ingest(tmp_path, str(corpus))
    assert result.returncode == 1
    assert "failed: empty.txt: empty file" in result.stderr


DOCS = 100


def kill_after_first_batch(process: subprocess.Popen[bytes], documents: int) -> None:
    """SIGKILL an ingestion as soon as its progress bar shows a first batch of documents done."""
    assert process.stderr is not None
    progress = b""
    deadline = time.monotonic() + 240
    while not re.search(rb"\| *[1-9][0-9]*/%d" % documents, progress) and time.monotonic() < deadline:
        read = os.read(process.stderr.fileno(), 4096)
        if not read:
            break
        progress += read
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


def test_killed_ingestion_leaves_a_consistent_store_and_the_next_run_finishes(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for i in range(DOCS):
        sentences = " ".join(f"Fact {j} about topic {i} is that item {i * j} exists." for j in range(20))
        (corpus / f"doc{i:02d}.txt").write_text(f"Topic {i}\n\n{sentences}")
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest", str(corpus)], cwd=ROOT, env=env, stderr=subprocess.PIPE
    )
    kill_after_first_batch(process, DOCS)

    store = open_store(make_settings(tmp_path / "data", chroma_host=None))
    documents = store.documents()
    assert 0 < len(documents) < DOCS
    chunks = store.all_chunks()
    for source, record in documents.items():
        assert sum(c.source == source for c in chunks) == record.chunks

    finish = run_ingest(tmp_path, str(corpus))
    assert finish.returncode == 0, finish.stderr
    assert f"{len(documents)} unchanged" in finish.stdout
    store = open_store(make_settings(tmp_path / "data", chroma_host=None))
    assert len(store.documents()) == DOCS and store.orphans() == []


def test_second_ingestion_at_once_is_refused_with_exit_status_3(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Alpha\n\nAlpha is the first letter.")
    with IngestionLock(tmp_path / "data"):
        result = run_ingest(tmp_path, str(corpus))
    assert result.returncode == 3
    assert "another ingestion is running" in result.stderr


def test_a_bad_collection_name_is_a_clear_error_with_exit_status_2(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Alpha\n\nAlpha is the first letter.")
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "COLLECTION_NAME": "ab"}
    result = subprocess.run(
        [sys.executable, "-m", "ingest", str(corpus)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "error: invalid settings: COLLECTION_NAME" in result.stderr and "Traceback" not in result.stderr


def test_progress_counts_unchanged_files_and_shows_rate_and_reaches_the_total(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for name in ("a", "b", "c"):
        (corpus / f"{name}.md").write_text(f"# {name.upper()}\n\nThe letter {name} is in the alphabet.")
    assert run_ingest(tmp_path, str(corpus)).returncode == 0
    (corpus / "d.md").write_text("# D\n\nThe letter d is in the alphabet.")
    result = run_ingest(tmp_path, str(corpus))
    assert result.returncode == 0, result.stderr
    bar = result.stderr.replace("\r", "\n")
    assert re.search(r"\| 3/4 ", bar)  # the unchanged files, counted before anything is embedded
    assert re.search(r"100%\|.*\| 4/4 .*1 chunks, [0-9.]+ chunks/s", bar)


def test_the_bar_moves_with_the_pages_read_of_a_long_pdf(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    pages = [f"Page {n}: the ferry to island {n} leaves at {n % 12 + 1} o'clock." for n in range(1, 121)]
    (corpus / "ferries.pdf").write_bytes(make_pdf(pages))
    result = run_ingest(tmp_path, str(corpus))
    assert result.returncode == 0, result.stderr
    bar = result.stderr.replace("\r", "\n")
    assert re.search(r"\| 0/1 .*ferries\.pdf page 50/120 read, 0 embedded", bar)
    assert re.search(r"\| 0/1 .*ferries\.pdf page 100/120 read", bar)
    assert re.search(r"100%\|.*\| 1/1 ", bar)


def test_quiet_prints_the_summary_and_failures_only(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Alpha\n\nAlpha is the first letter.")
    (corpus / "empty.txt").write_text("")
    (corpus / "notes.xyz").write_text("not a document type")
    result = run_ingest(tmp_path, str(corpus), "--quiet")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [result.stdout.strip()] and "1 added" in result.stdout
    assert result.stderr.splitlines() == ["failed: empty.txt: empty file"]


def ingest_process(settings: Settings, corpus: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", str(corpus), *args],
        cwd=ROOT,
        env=process_env(settings, HF_HUB_OFFLINE="1", **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_ingest_with_another_model_exits_2_with_the_fix_and_full_re_embeds_everything(
    settings: Settings, embedder: BaseEmbedding, other_model: Path, tmp_path: Path
) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Alpha\n\nAlpha is the first letter of the Greek alphabet.")
    run_ingestion(settings, open_store(settings), embedder, root=corpus)
    refused = ingest_process(settings, corpus, EMBED_MODEL=str(other_model))
    out, err = refused.communicate(timeout=300)
    assert refused.returncode == 2, err
    assert b"written by embedding model 'bundled:all-MiniLM-L6-v2' (384 dimensions)" in err
    assert b"python -m ingest --full" in err and b"Traceback" not in err
    rebuilt = ingest_process(settings, corpus, "--full", EMBED_MODEL=str(other_model))
    out, err = rebuilt.communicate(timeout=300)
    assert rebuilt.returncode == 0, err
    assert b"1 documents (1 added" in out
    record = open_store(settings).model_record()
    assert record is not None and record.model == str(other_model) and record.dimension == 128


REBUILD_DOCS = 70  # more than one batch of documents, so a kill can land between two


def test_a_killed_rebuild_with_another_model_leaves_the_old_store_whole_and_the_next_run_finishes(
    settings: Settings, embedder: BaseEmbedding, other_model: Path, tmp_path: Path
) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for i in range(REBUILD_DOCS):
        facts = " ".join(f"Fact {j} about topic {i} is that item {i * j} exists." for j in range(3))
        (corpus / f"doc{i:02d}.txt").write_text(f"Topic {i}\n\n{facts}")
    store = open_store(settings)
    run_ingestion(settings, store, embedder, root=corpus)
    chunks_before = store.count()

    process = ingest_process(settings, corpus, "--full", EMBED_MODEL=str(other_model))
    kill_after_first_batch(process, REBUILD_DOCS)

    store = open_store(settings)
    record = store.model_record()
    assert record is not None and record.dimension == 384 and store.count() == chunks_before
    assert len(store.documents()) == REBUILD_DOCS
    search = build_assistant(settings, embedder).search("Which item exists for topic 7?", 3)
    assert "doc07.txt" in [p.chunk.source for p in search]

    finish = ingest_process(settings, corpus, "--full", EMBED_MODEL=str(other_model))
    _, err = finish.communicate(timeout=300)
    assert finish.returncode == 0, err
    store = open_store(settings)
    record = store.model_record()
    assert record is not None and record.dimension == 128 and len(store.documents()) == REBUILD_DOCS


def test_ingest_leaves_the_bm25_index_of_the_new_store_version_on_disk(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Alpha\n\nAlpha is the first letter of the Greek alphabet.")
    assert run_ingest(tmp_path, str(corpus)).returncode == 0
    store = open_store(make_settings(tmp_path / "data"))
    # The API process then loads this index instead of building it while a question waits.
    index = LexicalIndex.load(tmp_path / "data" / "bm25" / store.name / store.generation())
    assert index.search("Greek alphabet", 1)[0][0] == store.all_chunks()[0].id
