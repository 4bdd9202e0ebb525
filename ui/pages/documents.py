"""Operators' page: the documents in the store, upload, re-ingest, delete, and the last report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rag.documents import SUPPORTED_SUFFIXES
from rag.settings import Settings
from ui import client

api = client.Api.from_settings(Settings())
api_url = api.url

st.title("Documents")


def show_report(report: dict[str, Any]) -> None:
    st.subheader("Last ingestion")
    st.write(
        f"{len(report['added'])} added · {len(report['changed'])} changed · "
        f"{len(report['unchanged'])} unchanged · {len(report['removed'])} removed · "
        f"{len(report['failed'])} failed · {report['chunks_written']} chunks in {report['seconds']:.1f} s"
    )
    for source, reason in report["failed"].items():
        st.error(f"{source}: {reason}")
    for source, reason in report["skipped"].items():
        st.warning(f"skipped {source}: {reason}")
    for source, note in report["notes"].items():
        st.info(f"{source}: {note}")


def act(action: Any) -> bool:
    """Run a call to the API; keep its report, or show why it failed."""
    try:
        result = action()
    except client.ServerUnreachable:
        st.error(f"The server at {api_url} is unreachable.")
        return False
    except client.ServerError as exc:
        st.error(f"The server refused: {exc}")
        return False
    if isinstance(result, dict):
        st.session_state.last_report = result.get("report", result)
    return True


uploads = st.file_uploader(
    "Add files to the corpus",
    type=sorted(s.lstrip(".") for s in SUPPORTED_SUFFIXES),
    accept_multiple_files=True,
)
if uploads and st.button("Upload and ingest"):
    for upload in uploads:
        act(lambda upload=upload: api.upload(upload.name, upload.getvalue()))

col1, col2 = st.columns(2)
full = col2.checkbox("Full rebuild (re-embed everything)")
if col1.button("Re-ingest the corpus"):
    act(lambda: api.reingest(full))

try:
    documents = api.documents()
except (client.ServerUnreachable, client.ServerError) as exc:
    st.error(f"The server at {api_url} is unreachable. ({exc})")
    documents = []

st.subheader(f"In the store: {len(documents)} documents")
if documents:
    st.dataframe(
        [{k: d[k] for k in ("source", "title", "chunks", "ingested_at", "content_hash")} for d in documents],
        use_container_width=True,
    )
    doomed = st.selectbox("Document", [d["source"] for d in documents])
    if st.button("Delete document") and act(lambda: api.delete(doomed)):
        st.rerun()

if "last_report" in st.session_state:
    show_report(st.session_state.last_report)
