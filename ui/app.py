"""Streamlit chat over the API: `streamlit run ui/app.py`."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import streamlit as st

# `streamlit run` puts only ui/ on the path; the project root holds the shared settings.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.settings import Settings
from ui import client

HISTORY_TURNS = 6

st.set_page_config(page_title="Document Q&A", page_icon="📄")
api = client.Api.from_settings(Settings())
api_url = api.url

if "messages" not in st.session_state:
    st.session_state.messages = []


def show_citations(citations: list[dict[str, Any]]) -> None:
    for c in citations:
        with st.expander(f"[{c['id']}] {c['title']} — {c['source']}"):
            st.caption(f"characters {c['start_char']}–{c['end_char']} · relevance {c['score']:.2f}")
            st.text(c["text"])


def show(message: dict[str, Any]) -> None:
    with st.chat_message(message["role"]):
        if message.get("error"):
            st.error(message["content"])
        else:
            st.markdown(message["content"])
        show_citations(message.get("citations", []))
        if message.get("notice"):
            st.warning(message["notice"])
        if message.get("cut_short"):
            st.error(cut_short(message["cut_short"]))


def cut_short(detail: str) -> str:
    return f"The answer above is incomplete: {detail}"


with st.sidebar:
    st.header("Document Q&A")
    try:
        status = api.health()
        st.success(f"Server at {api_url}: {status['chunks']} chunks indexed")
    except (client.ServerUnreachable, client.ServerError) as exc:
        st.error(f"The server at {api_url} is unreachable. Start it with `make run`. ({exc})")
    if st.button("New chat"):
        st.session_state.messages = []

st.title("Ask your documents")
for message in st.session_state.messages:
    show(message)

if question := st.chat_input("Ask a question about the documents"):
    history = [
        {"role": m["role"], "content": m["content"]}
        for m in st.session_state.messages[-HISTORY_TURNS:]
        if not m.get("error")
    ]
    user = {"role": "user", "content": question}
    st.session_state.messages.append(user)
    show(user)
    answer: dict[str, Any]
    events = api.ask_stream(question, history)
    try:
        first = next(events)  # connects: an unreachable server or a refused question fails here
    except client.ServerUnreachable:
        answer = {"role": "assistant", "content": f"The server at {api_url} is unreachable. Is it running?"}
        answer["error"] = True
        show(answer)
    except client.ServerError as exc:
        answer = {"role": "assistant", "content": f"The server refused the question: {exc}", "error": True}
        show(answer)
    else:
        final: dict[str, Any] = {}
        written: list[str] = []

        def tokens() -> Iterator[str]:
            try:
                for event, data in itertools.chain([first], events):
                    if event == "token":
                        written.append(data["text"])
                        yield data["text"]
                    elif event == "done":
                        final.update(data["answer"])
                    elif event == "error":  # the server could not finish: a partial answer is not whole
                        final["cut_short"] = data["detail"]
            except client.ServerUnreachable:
                pass
            if not final:
                final["cut_short"] = "the connection to the server ended before the answer was complete"

        with st.chat_message("assistant"):
            st.write_stream(tokens())
            show_citations(final.get("citations", []))
            if final.get("notice"):
                st.warning(final["notice"])
            if final.get("cut_short"):
                st.error(cut_short(final["cut_short"]))
        answer = {"role": "assistant", "content": final.get("answer", "".join(written))}
        answer |= {"citations": final.get("citations", []), "notice": final.get("notice")}
        answer |= {"cut_short": final.get("cut_short")}
    st.session_state.messages.append(answer)
