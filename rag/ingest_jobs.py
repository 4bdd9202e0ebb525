"""Ingestion runs started through the API, as jobs a client can follow while they run.

Each job runs in a thread of its own under the store's ingestion lock. Its state is a JSON file in
DATA_DIR, rewritten at each progress event, so every worker process sharing DATA_DIR can answer
for any job, and a job survives as a record after the run.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from rag.errors import IngestionBusy, IngestJobNotFound
from rag.ingest_progress import IngestProgress, ProgressCallback
from rag.ingestion import IngestionLock, IngestReport

log = logging.getLogger(__name__)
JOBS_FOLDER = "ingest-jobs"
KEPT_JOBS = 20  # finished jobs' records kept; older ones are deleted
INTERRUPTED = "interrupted: the process running it stopped before the end"
_JOB_ID = re.compile(r"\d{8}T\d{9}-[0-9a-f]{8}")


class IngestJob(BaseModel):
    """An ingestion run through the API: where it stands, then its report or its error."""

    id: str = Field(description="The job's id; ids sort by start time.")
    status: Literal["running", "done", "failed"] = Field(description="`running` until the run ends.")
    full: bool = Field(False, description="Every document re-embedded.")
    dry_run: bool = Field(False, description="The plan only; nothing written.")
    started_at: str = Field(description="ISO 8601, UTC.")
    finished_at: str | None = Field(None, description="ISO 8601, UTC; null while running.")
    documents_done: int = Field(0, description="Documents dealt with, unchanged ones included.")
    documents_total: int | None = Field(None, description="Documents in the folder; null until planned.")
    chunks_done: int = Field(0, description="Chunks embedded and stored so far.")
    elapsed_seconds: float = Field(0.0, description="Seconds since the run started.")
    chunks_per_second: float = Field(0.0, description="Chunks written per second so far.")
    documents_per_second: float = Field(0.0, description="Documents written per second (unchanged excluded).")
    eta_seconds: float | None = Field(None, description="Seconds left at the pace so far; null until known.")
    current_document: str | None = Field(
        None, description="The paged document (PDF) being read and embedded, while one is."
    )
    pages_done: int = Field(0, description="Pages of current_document read so far.")
    pages_total: int | None = Field(None, description="Pages of current_document; null without one.")
    pages_embedded: int = Field(
        0, description="Pages of current_document whose chunks are all embedded and stored."
    )
    report: IngestReport | None = Field(None, description="What the run did, once done.")
    error: str | None = Field(None, description="Why the run failed, when it did.")

    def advanced(self, event: IngestProgress) -> IngestJob:
        """This job, moved on to a progress event."""
        return self.model_copy(
            update={
                "documents_done": event.documents_done,
                "documents_total": event.documents_total,
                "chunks_done": event.chunks_done,
                "elapsed_seconds": round(event.elapsed, 3),
                "chunks_per_second": round(event.chunks_per_second, 3),
                "documents_per_second": round(event.documents_per_second, 3),
                "eta_seconds": None if event.eta_seconds is None else round(event.eta_seconds, 1),
                "current_document": event.document,
                "pages_done": event.pages_done,
                "pages_total": event.pages_total,
                "pages_embedded": event.pages_embedded,
            }
        )


# What a job runs, with its lock held: an ingestion that reports to the callback it is given.
JobRun = Callable[[ProgressCallback], IngestReport]


@dataclass
class JobHandle:
    """A job started by this process; wait() gives its report or raises what the run raised."""

    id: str
    thread: threading.Thread | None = None
    report: IngestReport | None = None
    error: BaseException | None = None
    on_record: bool = False  # the lock is held and the job's file written
    locked: threading.Event = field(default_factory=threading.Event)  # set once started, or failed to

    def wait(self) -> IngestReport:
        if self.thread:
            self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


class IngestJobs:
    """The ingestion jobs of the store whose data lives in data_dir."""

    def __init__(self, data_dir: Path, kept: int = KEPT_JOBS) -> None:
        self.data_dir = data_dir
        self.folder = data_dir / JOBS_FOLDER
        self.kept = kept

    def start(self, run: JobRun, full: bool = False, dry_run: bool = False) -> JobHandle:
        """Start a run in a thread once it holds the lock; IngestionBusy, naming the job, if it cannot."""
        job = IngestJob(id=_new_id(), status="running", full=full, dry_run=dry_run, started_at=_now())
        handle = JobHandle(job.id)
        handle.thread = threading.Thread(target=self._work, args=(job, run, handle), daemon=True)
        handle.thread.start()
        handle.locked.wait()
        if handle.error is not None and not handle.on_record:  # it never started: nothing to follow
            handle.thread.join()
            running = self.running() if isinstance(handle.error, IngestionBusy) else None
            if running is not None:
                raise IngestionBusy(
                    f"another ingestion is running on this store: job {running.id}"
                ) from handle.error
            raise handle.error
        return handle

    def get(self, job_id: str) -> IngestJob:
        """A job by its id."""
        path = self.folder / f"{job_id}.json"
        if not _JOB_ID.fullmatch(job_id) or not path.is_file():
            raise IngestJobNotFound(f"no ingestion job {job_id!r}")
        return IngestJob.model_validate_json(path.read_text())

    def recent(self) -> list[IngestJob]:
        """The jobs on record, newest first."""
        jobs = []
        for path in sorted(self.folder.glob("*.json"), reverse=True):
            try:
                jobs.append(IngestJob.model_validate_json(path.read_text()))
            except (OSError, ValueError):  # deleted or half-pruned meanwhile
                continue
        return jobs

    def running(self) -> IngestJob | None:
        return next((job for job in self.recent() if job.status == "running"), None)

    def sweep_interrupted(self) -> None:
        """Mark as failed the jobs left `running` by a process that died, when no ingestion runs now."""
        try:
            with IngestionLock(self.data_dir):
                self._sweep_locked()
        except IngestionBusy:
            pass  # someone is ingesting: their job is alive, and the next start sweeps the rest

    def _sweep_locked(self) -> None:
        for job in self.recent():
            if job.status == "running":
                self._save(job.model_copy(update={"status": "failed", "error": INTERRUPTED}))

    def _work(self, job: IngestJob, run: JobRun, handle: JobHandle) -> None:
        try:
            with IngestionLock(self.data_dir):
                self._sweep_locked()  # with the lock held, any job still `running` has died
                self._save(job)
                handle.on_record = True
                handle.locked.set()

                def advance(event: IngestProgress) -> None:
                    nonlocal job
                    job = job.advanced(event)
                    try:
                        self._save(job)
                    except OSError as exc:  # a progress report lost must not stop the ingestion
                        log.warning("cannot record the progress of ingestion job %s: %s", job.id, exc)

                handle.report = run(advance)
                job = job.model_copy(
                    update={"status": "done", "report": handle.report, "finished_at": _now()}
                )
                self._save(job)
        except BaseException as exc:
            handle.error = exc
            if handle.on_record:  # it failed, and its record says why
                self._save(
                    job.model_copy(update={"status": "failed", "error": str(exc), "finished_at": _now()})
                )
        finally:
            handle.locked.set()
            self._prune()

    def _save(self, job: IngestJob) -> None:
        # Written whole, then renamed: a reader in another process never sees half a file.
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(dir=self.folder, prefix=".job-", suffix=".tmp")
        with os.fdopen(fd, "w") as out:
            out.write(job.model_dump_json())
        os.replace(staging, self.folder / f"{job.id}.json")

    def _prune(self) -> None:
        for path in sorted(self.folder.glob("*.json"), reverse=True)[self.kept :]:
            path.unlink(missing_ok=True)


def _new_id() -> str:
    """UTC start time to the millisecond, then random: ids sort as the jobs started."""
    now = datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}-{uuid.uuid4().hex[:8]}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
