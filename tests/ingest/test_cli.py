"""`python -m ingest` as an operator runs it: a real process, real files, a real store."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from rag.ingestion import IngestionLock
from rag.lexical import LexicalIndex
from rag.store import open_store
from tests.conftest import ROOT, make_settings


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
    progress = b""
    deadline = time.monotonic() + 240
    # Kill as soon as the first batch of documents is published and before the run ends.
    while not re.search(rb"\| *[1-9][0-9]*/%d" % DOCS, progress) and time.monotonic() < deadline:
        read = os.read(process.stderr.fileno(), 4096)
        if not read:
            break
        progress += read
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL

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


def test_ingest_leaves_the_bm25_index_of_the_new_store_version_on_disk(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Alpha\n\nAlpha is the first letter of the Greek alphabet.")
    assert run_ingest(tmp_path, str(corpus)).returncode == 0
    store = open_store(make_settings(tmp_path / "data"))
    # The API process then loads this index instead of building it while a question waits.
    index = LexicalIndex.load(tmp_path / "data" / "bm25" / store.name / store.generation())
    assert index.search("Greek alphabet", 1)[0][0] == store.all_chunks()[0].id
