"""The corpus: list, upload, delete, re-ingest. Writes need the admin key when one is set."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from rag.corpus import delete_document, run_ingestion, upload_and_ingest
from rag.errors import UnreadableDocument, UnsupportedFile
from rag.ingestion import IngestReport
from rag.models import DocumentRecord
from server.deps import AssistantDep, require_admin
from server.schemas import IngestRequest, UploadResponse

router = APIRouter()
admin = [Depends(require_admin)]


async def counted(request: Request, run: Callable[[], IngestReport]) -> IngestReport:
    """Run an ingestion in a worker thread and count it by outcome in the metrics."""
    runs = request.app.state.metrics.ingestions
    try:
        report = await run_in_threadpool(run)
    except (UnsupportedFile, UnreadableDocument):  # an upload refused before any ingestion ran
        raise
    except Exception:
        runs.labels("error").inc()
        raise
    runs.labels("some_failed" if report.failed else "ok").inc()
    # The next question should find the new BM25 index built, not start building it.
    await run_in_threadpool(request.app.state.assistant.retriever.refresh)
    return report


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

    report = await counted(request, save_and_ingest)
    return UploadResponse(saved=saved[0], report=report)


@router.post("/ingest", response_model=IngestReport, dependencies=admin, summary="Re-ingest the corpus")
async def reingest(
    request: Request, assistant: AssistantDep, body: IngestRequest | None = None
) -> IngestReport:
    """Adds new, replaces changed and removes deleted documents; unchanged ones are skipped."""
    body = body or IngestRequest()
    return await counted(
        request,
        lambda: run_ingestion(
            assistant.settings, assistant.store, assistant.embedder, full=body.full, dry_run=body.dry_run
        ),
    )
