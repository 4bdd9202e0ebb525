"""SIGTERM while a real API process streams an answer: the stream drains, or ends with an `error` event,
never silently."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import streaming_api

QUESTION = {"question": "At what temperature is green tea steeped?"}


def events_with_sigterm(server: subprocess.Popen, url: str) -> Iterator[str]:
    """The names of the stream's events; SIGTERM goes to the server after the first token."""
    signalled = False
    with httpx.stream("POST", f"{url}/ask/stream", json=QUESTION, timeout=120) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
                if name == "token" and not signalled:
                    server.send_signal(signal.SIGTERM)
                    signalled = True
                yield name
            elif line.startswith("data:") and name == "error":
                assert "shutting down" in json.loads(line[5:])["detail"]


@pytest.fixture
def stopped() -> Iterator[list[subprocess.Popen]]:
    servers: list[subprocess.Popen] = []
    yield servers
    for server in servers:
        server.kill()
        server.wait(timeout=30)


def test_sigterm_lets_a_running_stream_finish(tmp_path: Path, fake_llm_server, stopped) -> None:
    server, url = streaming_api(tmp_path, fake_llm_server[0], "drip-0.3", grace="30")
    stopped.append(server)
    names = list(events_with_sigterm(server, url))
    assert names[-1] == "done" and "token" in names
    assert server.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled


def test_sigterm_ends_an_unfinished_stream_with_an_error_event(
    tmp_path: Path, fake_llm_server, stopped
) -> None:
    server, url = streaming_api(tmp_path, fake_llm_server[0], "drip-1.5", grace="1")
    stopped.append(server)
    names = list(events_with_sigterm(server, url))
    assert names[-1] == "error" and "done" not in names
    assert server.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
