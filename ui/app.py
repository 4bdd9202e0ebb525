"""`streamlit run ui/app.py`: the chat, and the documents page for operators."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Document Q&A", page_icon="📄")
st.navigation(
    [
        st.Page("chat.py", title="Chat", icon=":material/chat:", default=True),
        st.Page("documents.py", title="Documents", icon=":material/description:"),
    ]
).run()
