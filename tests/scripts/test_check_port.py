"""scripts/check_port.sh, which `make run`, `make serve` and `make ui` run before starting a server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent


def check_port(port: int, variable: str, target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/check_port.sh", "127.0.0.1", str(port), variable, target],
        cwd=ROOT,
        env={**os.environ, "VENV": str(VENV)},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_port_in_use_is_named_with_the_make_command_that_chooses_another() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = check_port(port, "API_PORT", "serve")
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use (API_PORT)" in result.stderr
    assert f"make serve API_PORT={port + 10}" in result.stderr


def test_a_free_port_passes_silently() -> None:
    result = check_port(free_port(), "UI_PORT", "ui")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
