"""Operators' page: documents in the store, upload, re-ingest, delete, last report, feedback export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.settings import Settings
from ui import client, render

api = client.Api.from_settings(Settings())
state = st.session_state
POLL_SECONDS = 1.0  # how often a running ingestion is asked how far it has come (within the rate limit)
OUTCOMES = {
    "added": "added",
    "changed": "replaced the earlier version",
    "unchanged": "unchanged: the store already holds this content",
}


def outcome(report: dict[str, Any], name: str) -> str:
    """What an ingestion did with one file, in words."""
    if name in report["failed"]:
        return f"failed: {report['failed'][name]}"
    return next((words for key, words in OUTCOMES.items() if name in report[key]), "saved")


def upload(files: list[Any], limit: int | None) -> None:
    """Upload the files one by one, with progress, and keep a line per file saying what happened."""
    results: list[dict[str, str]] = []
    reports: list[dict[str, Any]] = []
    refused: dict[str, str] = {}  # files the server would not take: no ingestion ran, but they failed
    progress = st.progress(0.0)
    for i, file in enumerate(files):
        progress.progress(
            i / len(files), text=f"Uploading and ingesting {file.name} ({i + 1} of {len(files)})…"
        )
        data = file.getvalue()
        if limit is not None and len(data) > limit:
            refused[file.name] = f"larger than {render.human_size(limit)}"
            results.append({"File": file.name, "Result": f"failed: {refused[file.name]}"})
            continue
        try:
            response = api.upload(file.name, data)
        except (client.ServerError, client.ServerUnreachable) as exc:
            refused[file.name] = api.explain(exc)
            results.append({"File": file.name, "Result": f"failed: {refused[file.name]}"})
            continue
        reports.append(response["report"])
        results.append({"File": file.name, "Result": outcome(response["report"], response["saved"])})
    progress.progress(1.0, text="Done.")
    # Each file's upload ran an ingestion, or was refused: the summary counts the whole upload.
    report = render.combined_report(reports)
    report["failed"] |= refused
    state.last_ingestion = last_ingestion(
        {"report": report, "full": False, "finished_at": None}, from_page=True
    )
    state.upload_results = results
    state.uploader_round = state.get("uploader_round", 0) + 1  # a fresh, empty uploader
    st.rerun()


def reingest() -> None:
    """Button callback: start the ingestion job, then untick "full" so the next run is incremental again."""
    try:
        state.job_id = api.start_ingestion(state.get("full", False))["id"]
        state.job_from_page = True
    except client.ServerError as exc:
        if exc.status == 409 and (running := running_job()):
            state.job_id = running["id"]  # someone else's run: follow it rather than refuse
            state.job_from_page = False
        else:
            state.flash = api.explain(exc)
    except client.ServerUnreachable as exc:
        state.flash = api.explain(exc)
    state.full = False


def running_job() -> dict[str, Any] | None:
    """The ingestion job running now, if any (started here, in another tab, or by a script)."""
    return next((job for job in api.ingestions() if job["status"] == "running"), None)


def follow_job() -> None:
    """The running job's progress, asked again every POLL_SECONDS (a fragment: the page stays usable);
    once it ends, its report (or why it failed) and the new document list."""
    try:
        job = api.ingestion(state.job_id)
    except (client.ServerError, client.ServerUnreachable) as exc:
        state.flash, state.job_id = api.explain(exc), None
        st.rerun()
    if job["status"] != "running":
        if job["report"] is not None:
            state.last_ingestion = last_ingestion(job, from_page=state.get("job_from_page", False))
        else:
            state.flash = f"The ingestion failed: {job['error']}"
        state.job_id, state.job_from_page = None, False
        st.rerun()  # the whole page: its document list has changed
    fraction, words = render.job_progress(job)
    st.progress(fraction, text=words)


def last_ingestion(job: dict[str, Any], from_page: bool) -> dict[str, Any]:
    """What the report panel shows of a finished run, and whether this page (this session) started it."""
    return {
        "report": job["report"],
        "full": job["full"],
        "from_page": from_page,
        "finished_at": job["finished_at"],
    }


def show_report(ingestion: dict[str, Any]) -> None:
    """The last ingestion's counts, saying whose run it was: only this session's own are "from this page"."""
    report, full = ingestion["report"], ingestion["full"]
    whose = "Last ingestion from this page" if ingestion["from_page"] else "Last ingestion job on the server"
    st.subheader(whose + (" (full rebuild)" if full else ""))
    if not ingestion["from_page"]:
        # Uploads and `make ingest` are not jobs: the document list above is current, this report may not be.
        finished = render.human_time(ingestion["finished_at"] or "")
        st.caption(
            f"Started elsewhere (another tab, `curl` or a script), finished {finished}. Uploads and "
            "`make ingest` runs do not show here; the document list above includes them."
        )
    # A full rebuild re-embeds every stored document: "changed" would say they all changed.
    rewritten = "re-embedded" if full else "changed"
    counts = [
        render.plural(len(report["added"]), "added", "added"),
        render.plural(len(report["changed"]), rewritten, rewritten),
        render.plural(len(report["unchanged"]), "unchanged", "unchanged"),
        render.plural(len(report["removed"]), "removed", "removed"),
        render.plural(len(report["failed"]), "failed", "failed"),
    ]
    passages = render.plural(report["chunks_written"], "passage")
    st.write(f"{' · '.join(counts)} · {passages} written in {report['seconds']:.1f} s")
    for source, reason in report["failed"].items():
        st.error(render.plain(f"{source}: {reason}"))
    for source, reason in report["skipped"].items():
        st.warning(render.plain(f"skipped {source}: {reason}"))
    for source, note in report["notes"].items():
        st.info(render.plain(f"{source}: {note}"))


def delete_controls(documents: list[dict[str, Any]]) -> None:
    """Pick a document and delete it, after a confirmation."""
    doomed = st.selectbox("Document", [d["source"] for d in documents])
    if state.get("confirm_delete") != doomed:
        if st.button("Delete document…"):
            state.confirm_delete = doomed
            st.rerun()
        return
    st.warning(
        f"Delete “{doomed}” from the store and its file from the corpus folder? This cannot be undone."
    )
    yes, no = st.columns(2)
    if yes.button("Yes, delete", type="primary"):
        try:
            api.delete(doomed)
            state.flash_ok = f"Deleted “{render.plain(doomed)}”."
        except (client.ServerError, client.ServerUnreachable) as exc:
            state.flash = api.explain(exc)
        state.confirm_delete = None
        st.rerun()
    if no.button("Cancel"):
        state.confirm_delete = None
        st.rerun()


st.title("Documents")
if message := state.pop("flash", None):
    st.error(message)
if message := state.pop("flash_ok", None):
    st.success(message)

try:
    documents: list[dict[str, Any]] | None = api.documents()
    config: dict[str, Any] | None = api.config()
except (client.ServerError, client.ServerUnreachable) as exc:
    documents = config = None
    st.subheader("In the store: unknown")
    st.error(f"{api.explain(exc)} Then reload this page.")
    st.stop()

st.subheader(f"In the store: {render.plural(len(documents), 'document')}")
if documents:
    st.dataframe(
        [
            {
                "Document": d["source"],
                "Title": d["title"],
                "Passages": d["chunks"],
                "Added or updated": render.human_time(d["ingested_at"]),
            }
            for d in documents
        ],
        width="stretch",
        hide_index=True,
    )

st.subheader("Add documents")
limit = config["max_file_bytes"] if config else None
types = config["file_types"] if config else []
st.caption(
    f"Accepted: {', '.join('.' + t for t in types)}; up to {render.human_size(limit or 0)} a file "
    "(the server's limit). Each upload is ingested at once."
)
files = st.file_uploader(
    "Files to add",
    type=types or None,
    accept_multiple_files=True,
    max_upload_size=max(1, round((limit or 1) / 10**6)),  # in MB, as the page says
    key=f"uploader-{state.get('uploader_round', 0)}",
)
if files and st.button("Upload and ingest", type="primary"):
    upload(files, limit)
for result in state.get("upload_results", []):
    shown = st.error if result["Result"].startswith("failed") else st.success
    shown(render.plain(f"{result['File']}: {result['Result']}"))

st.subheader("Re-ingest the corpus folder")
if state.get("job_id") is None:
    # Follow an ingestion started elsewhere; with nothing of its own to show, the page shows the server's
    # last ingestion job, labelled as such.
    try:
        recent = api.ingestions()
    except (client.ServerError, client.ServerUnreachable):
        recent = []
    state.job_id = next((job["id"] for job in recent if job["status"] == "running"), None)
    state.job_from_page = False
    # This session's own run stays; a run from elsewhere gives way to the server's newer one.
    own = state.get("last_ingestion", {}).get("from_page", False)
    last = next((job for job in recent if not job["dry_run"]), None)  # a dry run changed nothing
    if state.job_id is None and not own and last and last["report"]:
        state.last_ingestion = last_ingestion(last, from_page=False)
left, right = st.columns(2)
right.checkbox("Full rebuild (re-embed every document)", key="full", disabled=state.job_id is not None)
left.button("Re-ingest the corpus", on_click=reingest, disabled=state.job_id is not None)
if state.job_id is not None:
    st.fragment(follow_job, run_every=POLL_SECONDS)()

if documents:
    st.subheader("Delete a document")
    delete_controls(documents)

st.subheader("Feedback from the chat")
try:
    feedback = api.feedback_jsonl()
    lines = feedback.count("\n")
    st.caption(
        f"{render.plural(lines, 'rated answer')}, as evaluation questions: "
        "`python -m rag.eval --qa feedback.jsonl --corpus corpus`."
    )
    st.download_button(
        "Download feedback (JSONL)", feedback, file_name="feedback.jsonl", mime="application/x-ndjson"
    )
except (client.ServerError, client.ServerUnreachable) as exc:
    st.caption(f"Feedback cannot be exported: {api.explain(exc)}")

if "last_ingestion" in state:
    show_report(state.last_ingestion)
