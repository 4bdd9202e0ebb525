"""`python -m ingest` as an operator runs it: a real process, real files, a real store."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


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
