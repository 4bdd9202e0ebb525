"""The settings a client may know, so the chat shows the server's own limits."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from rag.documents import SUPPORTED_SUFFIXES
from server.deps import AssistantDep

router = APIRouter()


class PublicConfig(BaseModel):
    max_file_bytes: int = Field(description="Largest file accepted for upload and ingestion.")
    max_question_chars: int = Field(description="Longest accepted question.")
    file_types: list[str] = Field(description="File extensions that can be ingested, without the dot.")
    answerer: str = Field(description="Who writes answers: extractive or an LLM backend.")
    admin_key_required: bool = Field(description="Whether upload, delete and ingest need the admin key.")


@router.get("/config", response_model=PublicConfig, summary="Public settings: limits and file types")
async def public_config(assistant: AssistantDep) -> PublicConfig:
    s = assistant.settings
    return PublicConfig(
        max_file_bytes=s.max_file_bytes,
        max_question_chars=s.max_question_chars,
        file_types=sorted({suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES}),
        answerer=s.answerer,
        admin_key_required=s.admin_api_key is not None,
    )
