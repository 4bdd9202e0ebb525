"""Starting the API with bad settings: a clear message and exit status 2, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port


@pytest.mark.parametrize("name", ["ab", "-documents", "my documents"])
def test_a_bad_collection_name_stops_the_api_at_start_with_a_clear_message(tmp_path: Path, name: str) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "COLLECTION_NAME": name}
    result = subprocess.run(
        [sys.executable, "-m", "server", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"COLLECTION_NAME: Value error, {name!r} is not a Chroma collection name" in result.stderr
    assert "Traceback" not in result.stderr
