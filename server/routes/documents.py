"""The corpus: list, upload, delete, re-ingest. Writes need the admin key when one is set."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, FastAPI, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from rag.corpus import delete_document, ingest_locked, upload_and_ingest
from rag.errors import UnreadableDocument, UnsupportedFile
from rag.ingest_jobs import IngestJob, JobHandle
from rag.ingest_progress import ProgressCallback
from rag.ingestion import IngestReport
from rag.models import DocumentRecord
from server.deps import AssistantDep, require_admin
from server.schemas import IngestRequest, UploadResponse

router = APIRouter()
admin = [Depends(require_admin)]


def counted(app: FastAPI, run: Callable[[], IngestReport]) -> IngestReport:
    """Run an ingestion, count it by outcome in the metrics, and refresh what is derived from the store."""
    runs = app.state.metrics.ingestions
    try:
        report = run()
    except (UnsupportedFile, UnreadableDocument):  # an upload refused before any ingestion ran
        raise
    except Exception:
        runs.labels("error").inc()
        raise
    runs.labels("some_failed" if report.failed else "ok").inc()
    # The next question should find the new BM25 index built, not start building it.
    app.state.assistant.retriever.refresh()
    return report


async def start_job(request: Request, body: IngestRequest) -> JobHandle:
    """Start an ingestion of the corpus folder as a job; 409 naming the running job if there is one."""
    app = request.app
    assistant = app.state.assistant

    def run(on_progress: ProgressCallback) -> IngestReport:
        return counted(
            app,
            lambda: ingest_locked(
                assistant.settings,
                assistant.store,
                assistant.embedder,
                full=body.full,
                dry_run=body.dry_run,
                on_progress=on_progress,
            ),
        )

    return await run_in_threadpool(app.state.ingest_jobs.start, run, body.full, body.dry_run)


@router.get("/documents", response_model=list[DocumentRecord], summary="Documents in the store")
async def list_documents(assistant: AssistantDep) -> list[DocumentRecord]:
    documents = await run_in_threadpool(assistant.store.documents)
    return sorted(documents.values(), key=lambda d: d.source)


@router.delete("/documents/{source:path}", status_code=204, dependencies=admin, summary="Remove one document")
async def remove(source: str, assistant: AssistantDep) -> Response:
    """Deletes the document from the store and its file from the corpus folder."""
    await run_in_threadpool(delete_document, assistant.settings, assistant.store, source)
    await run_in_threadpool(assistant.retriever.refresh)
    return Response(status_code=204)


@router.post("/documents", response_model=UploadResponse, dependencies=admin, summary="Upload a file")
async def upload(file: UploadFile, assistant: AssistantDep, request: Request) -> UploadResponse:
    """Saves the file into the corpus folder (file name only, never a path) and ingests the corpus."""
    settings = assistant.settings
    data = await file.read(settings.max_file_bytes + 1)
    saved: list[str] = []

    def save_and_ingest() -> IngestReport:
        name = file.filename or ""
        path, report = upload_and_ingest(settings, assistant.store, assistant.embedder, name, data)
        saved.append(path.name)
        return report

    report = await run_in_threadpool(counted, request.app, save_and_ingest)
    return UploadResponse(saved=saved[0], report=report)


@router.post("/ingest", response_model=IngestReport, dependencies=admin, summary="Re-ingest the corpus")
async def reingest(request: Request, body: IngestRequest | None = None) -> IngestReport:
    """Adds new, replaces changed and removes deleted documents; unchanged ones are skipped.

    Answers when the run ends; it runs as a job, so others can follow it at /ingest/jobs meanwhile."""
    handle = await start_job(request, body or IngestRequest())
    return await run_in_threadpool(handle.wait)


@router.post(
    "/ingest/jobs",
    response_model=IngestJob,
    status_code=202,
    dependencies=admin,
    summary="Start re-ingesting the corpus; follow it at /ingest/jobs/{id}",
)
async def start_ingest_job(
    request: Request, response: Response, body: IngestRequest | None = None
) -> IngestJob:
    """Answers at once with the job; 409, naming the running job, when an ingestion is under way."""
    handle = await start_job(request, body or IngestRequest())
    response.headers["Location"] = f"/ingest/jobs/{handle.id}"
    return await run_in_threadpool(request.app.state.ingest_jobs.get, handle.id)


@router.get("/ingest/jobs", response_model=list[IngestJob], summary="Recent ingestion jobs, newest first")
async def list_ingest_jobs(request: Request) -> list[IngestJob]:
    return await run_in_threadpool(request.app.state.ingest_jobs.recent)


@router.get("/ingest/jobs/{job_id}", response_model=IngestJob, summary="One ingestion job: progress, report")
async def ingest_job(job_id: str, request: Request) -> IngestJob:
    """Documents done of total, chunks, rate and time left while running; the report or error after."""
    return await run_in_threadpool(request.app.state.ingest_jobs.get, job_id)
