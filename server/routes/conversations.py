"""Conversations kept on the server, each visible only to the key that created it; feedback on answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from rag.conversations import (
    Conversation,
    ConversationStore,
    ConversationSummary,
    Exchange,
    owner_of,
    title_from,
)
from rag.feedback import Feedback, as_eval_jsonl
from rag.models import Answer
from server.deps import given_key, require_admin

router = APIRouter(tags=["conversations"])


def conversation_store(request: Request) -> ConversationStore:
    return request.app.state.conversations


def current_owner(request: Request) -> str:
    """The key sent names the owner; without keys configured everything belongs to everyone."""
    settings = request.app.state.assistant.settings
    keyed = settings.api_key_list or settings.admin_api_key is not None
    return owner_of(given_key(dict(request.scope["headers"]))) if keyed else ""


StoreDep = Annotated[ConversationStore, Depends(conversation_store)]
OwnerDep = Annotated[str, Depends(current_owner)]


class NewConversation(BaseModel):
    title: str = Field("New conversation", min_length=1, max_length=200, pattern=r"\S")


class Rename(BaseModel):
    title: str = Field(min_length=1, max_length=200, pattern=r"\S", description="The new title.")


class NewExchange(BaseModel):
    question: str = Field(min_length=1, description="The question as asked.")
    answer: Answer = Field(description="The answer it got, as /ask returned it.")


@router.get("/conversations", response_model=list[ConversationSummary], summary="Your conversations")
async def list_conversations(store: StoreDep, owner: OwnerDep) -> list[ConversationSummary]:
    """The most recently used first."""
    return await run_in_threadpool(store.list, owner)


@router.post("/conversations", response_model=ConversationSummary, status_code=201, summary="Start one")
async def create_conversation(
    store: StoreDep, owner: OwnerDep, body: NewConversation | None = None
) -> ConversationSummary:
    return await run_in_threadpool(store.create, owner, (body or NewConversation()).title.strip())


@router.get("/conversations/{conversation_id}", response_model=Conversation, summary="One conversation")
async def get_conversation(conversation_id: str, store: StoreDep, owner: OwnerDep) -> Conversation:
    """Its questions and answers, oldest first, each with its feedback."""
    return await run_in_threadpool(store.get, owner, conversation_id)


@router.patch("/conversations/{conversation_id}", response_model=ConversationSummary, summary="Rename")
async def rename_conversation(
    conversation_id: str, body: Rename, store: StoreDep, owner: OwnerDep
) -> ConversationSummary:
    return await run_in_threadpool(store.rename, owner, conversation_id, body.title.strip())


@router.delete("/conversations/{conversation_id}", status_code=204, summary="Delete one conversation")
async def delete_conversation(conversation_id: str, store: StoreDep, owner: OwnerDep) -> Response:
    """Feedback given in it is kept for evaluation."""
    await run_in_threadpool(store.delete, owner, conversation_id)
    return Response(status_code=204)


@router.post(
    "/conversations/{conversation_id}/exchanges",
    response_model=Exchange,
    status_code=201,
    summary="Add a question and its answer",
)
async def add_exchange(conversation_id: str, body: NewExchange, store: StoreDep, owner: OwnerDep) -> Exchange:
    """The first exchange of a conversation still called "New conversation" names it after the question."""
    exchange = await run_in_threadpool(store.add_exchange, owner, conversation_id, body.question, body.answer)
    conversation = await run_in_threadpool(store.get, owner, conversation_id)
    if len(conversation.exchanges) == 1 and conversation.title == NewConversation().title:
        await run_in_threadpool(store.rename, owner, conversation_id, title_from(body.question))
    return exchange


@router.put(
    "/conversations/{conversation_id}/exchanges/{exchange_id}/feedback",
    status_code=204,
    summary="Rate an answer",
)
async def give_feedback(
    conversation_id: str, exchange_id: int, body: Feedback, store: StoreDep, owner: OwnerDep
) -> Response:
    """Thumbs up or down, with an optional comment; giving it again replaces it."""
    await run_in_threadpool(store.give_feedback, owner, conversation_id, exchange_id, body)
    return Response(status_code=204)


@router.get(
    "/feedback.jsonl",
    dependencies=[Depends(require_admin)],
    summary="All feedback, as evaluation questions",
    response_class=Response,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
async def export_feedback(store: StoreDep) -> Response:
    """One JSON object a line with `question`, `answers`, `source`, `answerable` (what
    `python -m rag.eval --qa` reads), plus `rating`, `comment` and `needs_review` (thumbs-down
    answers: fill in `answers` before using them)."""
    given = await run_in_threadpool(store.feedback_given)
    headers = {"Content-Disposition": 'attachment; filename="feedback.jsonl"'}
    return Response(as_eval_jsonl(given), media_type="application/x-ndjson", headers=headers)
