"""For the browser tests: the real API and `streamlit run` processes over a tiny corpus, and Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import GARDEN_MD, LIGHTHOUSE_PAGES, ROOT, free_port, make_pdf

CHROMIUM = Path(os.environ.get("RAG_TEST_CHROMIUM", "/usr/bin/chromium"))


@dataclass(frozen=True)
class Running:
    api: str
    ui: str
    corpus: Path


def wait_for(url: str, process: subprocess.Popen, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """`python -m server` and `streamlit run ui/app.py` on free loopback ports, the corpus ingested."""
    if os.environ.get("RAG_TEST_CHROMA") == "server":
        pytest.skip("the browser tests run once, in the embedded-store pass")
    tmp = tmp_path_factory.mktemp("browser")
    corpus = tmp / "corpus"
    corpus.mkdir()
    (corpus / "lighthouse.pdf").write_bytes(make_pdf(LIGHTHOUSE_PAGES, title="The Harbour Lighthouse"))
    (corpus / "garden.md").write_text(GARDEN_MD)
    api_port, ui_port = free_port(), free_port()
    api, ui = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("API_", "ADMIN_", "UI_", "CHROMA_"))},
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(tmp / "data"),
        "CORPUS_DIR": str(corpus),
        "API_URL": api,
        "RATE_LIMIT": "10000/minute",
        "LOG_FORMAT": "json",
    }
    logs = tmp / "logs"
    logs.mkdir()
    processes = []
    try:
        server = subprocess.Popen(
            [sys.executable, "-m", "server", "--port", str(api_port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(logs / "api.log").open("w"),
        )
        processes.append(server)
        wait_for(f"{api}/ready", server, "the API")
        httpx.post(f"{api}/ingest", timeout=120).raise_for_status()
        streamlit = [sys.executable, "-m", "streamlit", "run", "ui/app.py"]
        streamlit += ["--server.address", "127.0.0.1", "--server.port", str(ui_port)]
        streamlit += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
        chat = subprocess.Popen(
            streamlit, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(logs / "ui.log").open("w")
        )
        processes.append(chat)
        wait_for(f"{ui}/_stcore/health", chat, "streamlit")
        yield Running(api, ui, corpus)
    finally:
        for process in reversed(processes):
            stop(process)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian's Chromium driven by Playwright; the tests are skipped, loudly, where it cannot run."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.skip("BROWSER TESTS SKIPPED: playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip(f"BROWSER TESTS SKIPPED: no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        except Error as exc:
            pytest.skip(f"BROWSER TESTS SKIPPED: Chromium would not start: {exc}")
        yield browser
        browser.close()


@pytest.fixture
def page(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh browser tab that may reach loopback only: any other request is aborted and recorded."""
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    context.outside = []

    def guard(route) -> None:  # type: ignore[no-untyped-def]
        host = route.request.url.split("/")[2].split(":")[0] if "://" in route.request.url else ""
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            context.outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()
