"""Request and response bodies of the API; the answer itself is the core's `Answer`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

from rag.ingestion import IngestReport
from rag.models import SearchHit, Turn
from rag.settings import MAX_ASK_TOP_K, MAX_SEARCH_TOP_K


class AskRequest(BaseModel):
    question: str = Field(description="The question, in plain words.", examples=["How many troops?"])
    history: list[Turn] = Field(
        default_factory=list,
        description="Earlier turns of the chat, oldest first; follow-up questions are read in their light.",
    )
    top_k: StrictInt | None = Field(
        None, ge=1, le=MAX_ASK_TOP_K, description="Passages to retrieve (default: TOP_K)."
    )


class SearchRequest(BaseModel):
    query: str = Field(description="What to look for.")
    top_k: StrictInt | None = Field(
        None, ge=1, le=MAX_SEARCH_TOP_K, description="Passages to return (default: TOP_K)."
    )


class SearchResponse(BaseModel):
    results: list[SearchHit] = Field(description="The passages, best first.")


class Health(BaseModel):
    status: str = Field(description='"ok" when the store answers.')
    chunks: int = Field(description="Chunks in the store.")
    collection: str = Field(description="The Chroma collection served.")
    indexes: Literal["ready", "building"] = Field(
        description='"building" for the seconds after the store changed, while its BM25 index and '
        "in-memory copy are built in the background; questions are answered meanwhile, more slowly."
    )


class IngestRequest(BaseModel):
    full: StrictBool = Field(False, description="Re-embed every document, changed or not.")
    dry_run: StrictBool = Field(False, description="Report the plan only; change nothing.")


class UploadResponse(BaseModel):
    saved: str = Field(description="The file name written in the corpus folder.")
    report: IngestReport = Field(description="The ingestion run that followed.")
