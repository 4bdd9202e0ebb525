"""The chat page: answers with citations you can check, conversations kept on the server."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import streamlit as st

# `streamlit run` puts only ui/ on the path; the project root holds the shared settings.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.settings import Settings
from ui import client, render

HISTORY_EXCHANGES = 3  # earlier questions and answers sent along, so follow-ups are understood
RATINGS = {0: "down", 1: "up"}

settings = Settings()
api = client.Api.from_settings(settings)
st.html(render.STYLE)
state = st.session_state
# Not every rerun asks again; but after an ingestion the sidebar's counts should catch up within seconds.
REFRESH_SECONDS = 5
# The chat shares the API's rate limit with the other programs on the machine: the conversation list is
# asked again after this session changes it, else at most this often (others' new conversations show then).
CONVERSATIONS_SECONDS = 30


@st.cache_data(ttl=60, show_spinner=False)
def question_limit(_api: client.Api, url: str) -> int:
    """The server's longest accepted question (GET /config); this process's setting if it cannot say."""
    try:
        return int(_api.config()["max_question_chars"])
    except (client.ServerError, client.ServerUnreachable, KeyError, ValueError):
        return settings.max_question_chars


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner=False)
def chunk_count(_api: client.Api, url: str) -> int:
    return _api.health()["chunks"]


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner=False)
def document_titles(_api: client.Api, url: str) -> list[str]:
    return [d["title"] for d in _api.documents()]


def conversation_list() -> list[dict[str, Any]]:
    """The sidebar's conversations, from this session's copy while it is fresh."""
    if time.monotonic() - state.get("conversations_at", -CONVERSATIONS_SECONDS) >= CONVERSATIONS_SECONDS:
        state.conversations = api.conversations()
        state.conversations_at = time.monotonic()
    return state.conversations


def conversations_changed() -> None:
    """This session created, extended, renamed or deleted a conversation: the list is asked again."""
    state.pop("conversations_at", None)


def load(conversation_id: str | None) -> None:
    """Show a stored conversation (from the address bar, so a reload resumes it), or a new one."""
    state.loaded, state.exchanges = conversation_id, []
    if conversation_id is None:
        st.query_params.pop("c", None)
        return
    st.query_params["c"] = conversation_id
    try:
        state.exchanges = api.conversation(conversation_id)["exchanges"]
    except client.ServerError as exc:
        state.flash = "That conversation no longer exists." if exc.status == 404 else api.explain(exc)
        state.loaded = None
        st.query_params.pop("c", None)
    except client.ServerUnreachable as exc:
        state.flash = api.explain(exc)


def rate(exchange: dict[str, Any]) -> None:
    """Send a thumbs up or down as soon as it is given."""
    rating = RATINGS.get(state[f"rating-{exchange['id']}"])
    if rating is None:
        return
    try:
        api.give_feedback(state.loaded, exchange["id"], rating)
        exchange["feedback"] = {"rating": rating, "comment": None}
        st.toast("Thanks for the feedback.")
    except (client.ServerError, client.ServerUnreachable) as exc:
        state.flash = api.explain(exc)


def feedback_controls(exchange: dict[str, Any]) -> None:
    given = exchange.get("feedback") or {}
    default = {"down": 0, "up": 1}.get(given.get("rating", ""))
    rating = st.feedback(
        "thumbs", key=f"rating-{exchange['id']}", default=default, on_change=rate, args=(exchange,)
    )
    if rating is None:
        return
    with st.form(f"comment-{exchange['id']}", border=False, enter_to_submit=True):
        comment = st.text_input(
            "What was right or wrong? (optional)", value=given.get("comment") or "", max_chars=2000
        )
        if st.form_submit_button("Send comment") and comment.strip():
            try:
                api.give_feedback(state.loaded, exchange["id"], RATINGS[rating], comment.strip())
                exchange["feedback"] = {"rating": RATINGS[rating], "comment": comment.strip()}
                st.success("Comment saved. Thank you.")
            except (client.ServerError, client.ServerUnreachable) as exc:
                st.error(api.explain(exc))


def show_answer(answer: dict[str, Any], prefix: str) -> None:
    """The answer with linked [n] markers and a card per cited passage; an abstention set apart."""
    if answer.get("abstained"):
        st.html(render.not_found_html(answer["answer"]))
    else:
        citations = answer.get("citations", [])
        st.html(render.answer_html(answer["answer"], prefix, {c["id"] for c in citations}))
        if citations:
            st.html("".join(render.citation_html(c, prefix) for c in citations))
    if answer.get("notice"):
        st.warning(answer["notice"])


def show_exchange(exchange: dict[str, Any]) -> None:
    with st.chat_message("user"):
        st.text(exchange["question"])
    with st.chat_message("assistant"):
        show_answer(exchange["answer"], f"x{exchange['id']}")
        if state.loaded and isinstance(exchange.get("id"), int):
            feedback_controls(exchange)


def history() -> list[dict[str, str]]:
    turns = []
    for exchange in state.exchanges[-HISTORY_EXCHANGES:]:
        turns += [
            {"role": "user", "content": exchange["question"]},
            {"role": "assistant", "content": exchange["answer"]["answer"]},
        ]
    return turns


def save(question: str, answer: dict[str, Any]) -> dict[str, Any]:
    """Keep the exchange on the server, starting a conversation with the first question."""
    exchange = {"id": f"unsaved-{len(state.exchanges)}", "question": question, "answer": answer}
    try:
        if state.loaded is None:
            state.loaded = api.new_conversation()["id"]
            st.query_params["c"] = state.loaded
            conversations_changed()
        saved = api.add_exchange(state.loaded, question, answer)
        conversations_changed()  # its title or its place in the list (most recent first) changed
        return saved
    except (client.ServerError, client.ServerUnreachable) as exc:
        state.flash = f"This answer could not be saved in the conversation. {api.explain(exc)}"
        return exchange


def ask(question: str) -> None:
    """Show a visible search state, then the answer as it streams, then its citations."""
    with st.chat_message("user"):
        st.text(question)  # shown even when refused below, so an over-long paste can be copied and cut
    with st.chat_message("assistant"):
        length = len(question.strip())  # as the server counts it
        if length > (limit := question_limit(api, api.url)):
            st.error(render.too_long(length, limit))
            return
        slot = st.empty()
        slot.html('<div class="qa-searching">Searching the documents…</div>')
        final: dict[str, Any] | None = None
        written = ""
        cut_short = "the server stopped before the answer was complete"
        try:
            for event, data in api.ask_stream(question, history()):
                if event == "token":
                    written += data["text"]
                    slot.html(render.answer_html(written, "live", set()))
                elif event == "done":
                    final = data["answer"]
                elif event == "error":  # the server could not finish: what arrived is not the whole answer
                    cut_short = data.get("detail") or cut_short
        except client.ServerError as exc:
            slot.empty()
            st.error(api.explain(exc))
            return
        except client.ServerUnreachable as exc:
            if not written:
                slot.empty()
                st.error(api.explain(exc))
                return
        if final is None:
            if not written:
                slot.empty()
            st.error(f"The answer above is incomplete: {cut_short}. Please ask again.")
            return
    state.exchanges.append(save(question, final))
    st.rerun()


def sidebar() -> None:
    with st.sidebar:
        # /health answers even when the rate limit refuses everything else: "connected" only if both answer.
        try:
            chunks = chunk_count(api, api.url)
            conversations = conversation_list()
            st.success(f"Connected: {render.plural(chunks, 'passage')} indexed")
        except (client.ServerError, client.ServerUnreachable) as exc:
            st.error(api.explain(exc))
            conversations = state.get("conversations", [])  # the last list this session had, if any
        st.button("New chat", icon=":material/add:", on_click=load, args=(None,), width="stretch")
        if conversations:
            st.caption("Conversations")
        for conversation in conversations:
            current = conversation["id"] == state.loaded
            st.button(
                render.plain(conversation["title"]),
                key=f"open-{conversation['id']}",
                type="primary" if current else "tertiary",
                on_click=load,
                args=(conversation["id"],),
                width="stretch",
            )
            if current:
                manage(conversation)


def manage(conversation: dict[str, Any]) -> None:
    """Rename or delete the open conversation; deleting asks first."""
    with st.expander("Rename or delete"):
        title = st.text_input("Title", value=conversation["title"], key=f"title-{conversation['id']}")
        if st.button("Rename", key="rename") and title.strip() and title != conversation["title"]:
            try:
                api.rename_conversation(conversation["id"], title.strip())
                conversations_changed()
                st.rerun()
            except (client.ServerError, client.ServerUnreachable) as exc:
                st.error(api.explain(exc))
        if state.get("confirm_delete") != conversation["id"]:
            if st.button("Delete conversation", key="delete"):
                state.confirm_delete = conversation["id"]
                st.rerun()
            return
        st.warning(f"Delete “{render.plain(conversation['title'])}”? This cannot be undone.")
        yes, no = st.columns(2)
        if yes.button("Yes, delete", type="primary", key="delete-yes"):
            try:
                api.delete_conversation(conversation["id"])
                conversations_changed()
                load(None)
                state.flash_ok = "Conversation deleted."
            except (client.ServerError, client.ServerUnreachable) as exc:
                state.flash = api.explain(exc)
            state.confirm_delete = None
            st.rerun()
        if no.button("Cancel", key="delete-no"):
            state.confirm_delete = None
            st.rerun()


def empty_state() -> None:
    """What to ask: a few questions made from the titles of the stored documents."""
    try:
        titles = document_titles(api, api.url)
    except (client.ServerError, client.ServerUnreachable) as exc:
        st.warning(f"The documents could not be listed. {api.explain(exc)}")
        return
    if not titles:
        st.info("No documents yet. Add some on the Documents page, then ask about them here.")
        return
    st.caption(f"Ask anything about the {render.plural(len(titles), 'document')} in the store. For example:")
    for question in render.example_questions(titles):
        st.button(
            render.plain(question),
            key=f"example-{question}",
            on_click=state.__setitem__,
            args=("pending", question),
        )


wanted = st.query_params.get("c")
if "loaded" not in state or wanted != state.loaded:
    load(wanted)

sidebar()
st.title("Ask your documents")
if message := state.pop("flash", None):
    st.error(message)
if message := state.pop("flash_ok", None):
    st.success(message)
pending = state.pop("pending", None)
# Pinned to the bottom wherever it is called; asked first so a question's rerun skips the empty state.
# No max_chars: the box would drop an over-long paste without a word. ask() says what the limit is.
asked = st.chat_input("Ask a question about the documents")
if asked is not None and not asked.strip():  # spaces alone are no question: nothing to send
    asked = None
if not state.exchanges and not pending and not asked:
    empty_state()
for exchange in state.exchanges:
    show_exchange(exchange)
if question := asked or pending:
    ask(question)
