"""scripts/run.sh, what `make run` runs, as a real process: a port in use stops it before anything starts,
and an API that dies during start-up fails it with the API's log instead of a success message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent  # the venv running the tests, not its resolved interpreter


def run_script(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run scripts/run.sh in its own process group; the result, and whether anything of it still runs."""
    settings = {"DATA_DIR": str(tmp_path / "data"), "CORPUS_DIR": str(tmp_path / "corpus")}
    process = subprocess.Popen(
        ["bash", "scripts/run.sh", "--quiet"],
        cwd=ROOT,
        env={**os.environ, **settings, "HOST": "127.0.0.1", "VENV": str(VENV), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    left_running = group_alive(process.pid)
    if left_running:
        os.killpg(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), left_running


def group_alive(group: int, seconds: float = 5) -> bool:
    """Whether any process of the group is still there after a few seconds' grace to exit."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.1)
    return True


class AnswersEverything(BaseHTTPRequestHandler):
    """Another server on the port, healthy by any measure: the stranger's case."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def other_server() -> Iterator[int]:
    """A server already listening on a loopback port; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), AnswersEverything)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("taken", ["API_PORT", "UI_PORT"])
def test_a_port_in_use_stops_the_run_before_anything_starts(tmp_path: Path, taken: str) -> None:
    with other_server() as port:
        ports = {"API_PORT": str(free_port()), "UI_PORT": str(free_port()), taken: str(port)}
        result, left_running = run_script(tmp_path, **ports)
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use ({taken})" in result.stderr
    assert f"make run {taken}=" in result.stderr  # how to choose another
    assert "Chat:" not in result.stdout
    assert not (tmp_path / "data").exists()  # not even the ingestion ran
    assert not left_running


def test_an_api_that_dies_during_start_up_fails_the_run_with_its_log(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "tea.txt").write_text("Tea\n\nGreen tea is steeped at about 80 degrees Celsius.")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "conversations.sqlite3").write_text("not a database")  # the API cannot open it
    result, left_running = run_script(tmp_path, API_PORT=str(free_port()), UI_PORT=str(free_port()))
    assert result.returncode != 0
    assert "the API stopped during start-up" in result.stderr
    assert "file is not a database" in result.stderr  # its log, shown
    assert "Chat:" not in result.stdout and "API:" not in result.stdout
    assert not left_running
