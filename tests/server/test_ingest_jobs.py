"""Ingestion jobs over HTTP: start one, follow its progress, one at a time, records that outlive a crash."""

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.assistant import build_assistant
from server.app import create_app
from tests.conftest import api_environment, free_port, make_pdf, make_settings, serve, start_server

KEY = "jobs-admin-key"
ADMIN = {"X-API-Key": KEY}
DOCUMENTS = 40


def write_cities(folder: Path, count: int = DOCUMENTS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sentences = " ".join(f"Street {j} of city {i} has {i + j} trees." for j in range(6))
        (folder / f"city{i:02d}.txt").write_text(f"City {i}\n\n{sentences}")


@pytest.fixture
def api(tmp_path: Path, embedder: BaseEmbedding) -> Iterator[httpx.Client]:
    """The real app on a loopback port over a corpus of 40 documents, not yet ingested."""
    write_cities(tmp_path / "corpus")
    settings = make_settings(
        tmp_path / "data", corpus_dir=tmp_path / "corpus", admin_api_key=KEY, rate_limit="10000/minute"
    )
    app = create_app(assistant=build_assistant(settings, embedder))
    with serve(app) as url, httpx.Client(base_url=url, timeout=120) as http:
        yield http


def follow(http: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    """Every state of the job seen by polling until it ends."""
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen.append(http.get(f"/ingest/jobs/{job_id}").json())
        if seen[-1]["status"] != "running":
            return seen
        time.sleep(0.1)
    raise AssertionError("the job did not end")


def test_a_started_job_answers_at_once_then_reports_progress_and_its_report(api: httpx.Client) -> None:
    started = api.post("/ingest/jobs", headers=ADMIN)
    assert started.status_code == 202
    job = started.json()
    assert job["status"] == "running" and started.headers["location"] == f"/ingest/jobs/{job['id']}"
    states = follow(api, job["id"])
    done = [s["documents_done"] for s in states]
    assert done == sorted(done)
    final = states[-1]
    assert final["status"] == "done" and final["error"] is None and final["finished_at"]
    assert (final["documents_done"], final["documents_total"]) == (DOCUMENTS, DOCUMENTS)
    assert final["chunks_done"] == final["report"]["chunks_written"] > 0
    assert len(final["report"]["added"]) == DOCUMENTS and final["eta_seconds"] == 0
    assert final["chunks_per_second"] > 0 and final["elapsed_seconds"] > 0
    assert api.get("/ingest/jobs").json()[0] == final
    assert api.get("/health").json()["chunks"] == final["chunks_done"]


def test_a_job_reports_the_pages_read_of_a_long_pdf_while_it_runs(api: httpx.Client, tmp_path: Path) -> None:
    pages = [f"Page {n}: the ferry to island {n} leaves at {n % 12 + 1} o'clock." for n in range(1, 301)]
    (tmp_path / "corpus" / "ferries.pdf").write_bytes(make_pdf(pages))
    states = follow(api, api.post("/ingest/jobs", headers=ADMIN).json()["id"])
    reading = [s for s in states if s["current_document"] == "ferries.pdf"]
    assert reading and all(s["pages_total"] == 300 and 0 < s["pages_done"] <= 300 for s in reading)
    assert states[-1]["status"] == "done" and states[-1]["current_document"] is None
    assert "ferries.pdf" in states[-1]["report"]["added"]


def test_a_second_ingestion_while_a_job_runs_is_refused_naming_the_job(api: httpx.Client) -> None:
    job = api.post("/ingest/jobs", headers=ADMIN).json()
    for again in (api.post("/ingest/jobs", headers=ADMIN), api.post("/ingest", headers=ADMIN)):
        assert again.status_code == 409
        assert again.json()["detail"] == f"another ingestion is running on this store: job {job['id']}"
    assert follow(api, job["id"])[-1]["status"] == "done"
    assert api.post("/ingest/jobs", headers=ADMIN).status_code == 202  # free again once it ended


def test_the_waiting_ingest_route_runs_as_a_job_others_can_see(api: httpx.Client) -> None:
    report = api.post("/ingest", headers=ADMIN, json={"dry_run": True}).json()
    assert len(report["added"]) == DOCUMENTS and report["dry_run"]
    [job] = api.get("/ingest/jobs").json()
    assert job["status"] == "done" and job["dry_run"] and job["report"] == report


def test_starting_a_job_needs_the_admin_key_and_following_one_does_not(api: httpx.Client) -> None:
    assert api.post("/ingest/jobs").status_code == 401
    job = api.post("/ingest/jobs", headers=ADMIN).json()
    assert api.get(f"/ingest/jobs/{job['id']}").status_code == 200
    follow(api, job["id"])


def test_an_unknown_job_is_404(api: httpx.Client) -> None:
    for job_id in ("20260101T000000-0123abcd", "..secrets", "x"):
        response = api.get(f"/ingest/jobs/{job_id}")
        assert response.status_code == 404 and "no ingestion job" in response.json()["detail"]


def test_a_job_over_a_missing_corpus_fails_and_says_why(tmp_path: Path, embedder: BaseEmbedding) -> None:
    settings = make_settings(tmp_path / "data", corpus_dir=tmp_path / "missing", rate_limit="10000/minute")
    app = create_app(assistant=build_assistant(settings, embedder))
    with serve(app) as url, httpx.Client(base_url=url) as http:
        job = http.post("/ingest/jobs").json()
        final = follow(http, job["id"])[-1]
    assert final["status"] == "failed" and "does not exist" in final["error"] and final["report"] is None


@pytest.mark.slow
def test_a_job_cut_short_by_a_killed_server_is_marked_interrupted_at_the_next_start(
    tmp_path: Path, embedder: BaseEmbedding
) -> None:
    write_cities(tmp_path / "corpus", count=200)
    env = api_environment(tmp_path)
    server = start_server(env, port := free_port())
    try:
        job = httpx.post(f"http://127.0.0.1:{port}/ingest/jobs", timeout=60).json()
        assert job["status"] == "running"
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    settings = make_settings(tmp_path / "data", corpus_dir=tmp_path / "corpus", chroma_host=None)
    with serve(create_app(assistant=build_assistant(settings, embedder))) as url:
        jobs = httpx.get(f"{url}/ingest/jobs").json()
    assert [j["id"] for j in jobs] == [job["id"]]
    assert jobs[0]["status"] == "failed" and "interrupted" in jobs[0]["error"]
