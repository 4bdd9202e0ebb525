"""Conversations and feedback kept in SQLite under DATA_DIR, each scoped to the key that created it."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from rag.errors import ConversationNotFound
from rag.feedback import Feedback
from rag.models import Answer

FILE_NAME = "conversations.sqlite3"
TITLE_CHARS = 80

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations (owner, updated_at);
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    question TEXT NOT NULL, answer TEXT NOT NULL, created_at TEXT NOT NULL);
-- Feedback copies its question and answer, so it outlives a deleted conversation.
CREATE TABLE IF NOT EXISTS feedback (
    exchange_id INTEGER PRIMARY KEY, owner TEXT NOT NULL, rating TEXT NOT NULL, comment TEXT,
    question TEXT NOT NULL, answer TEXT NOT NULL, created_at TEXT NOT NULL);
"""


class Exchange(BaseModel):
    """One question and the answer it got."""

    id: int = Field(description="Stable id of the exchange, for feedback.")
    question: str
    answer: Answer
    created_at: str = Field(description="UTC, ISO 8601.")
    feedback: Feedback | None = None


class ConversationSummary(BaseModel):
    id: str
    title: str
    created_at: str = Field(description="UTC, ISO 8601.")
    updated_at: str = Field(description="When the last exchange was added or the title changed.")


class Conversation(ConversationSummary):
    exchanges: list[Exchange] = Field(description="Oldest first.")


def owner_of(key: str | None) -> str:
    """Who owns what a key creates: a hash, so the database never holds a key."""
    return hashlib.sha256(key.encode()).hexdigest()[:32] if key else ""


def title_from(question: str) -> str:
    """A conversation's first title: its first question, on one line and cut short."""
    line = re.sub(r"\s+", " ", question).strip()
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ConversationStore:
    """All reads and writes name an owner; another owner's conversation is as good as absent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: routes run in worker threads, and SQLite connections are per thread.
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            with db:
                yield db

    def create(self, owner: str, title: str) -> ConversationSummary:
        now = _now()
        summary = ConversationSummary(id=uuid.uuid4().hex, title=title, created_at=now, updated_at=now)
        with self._db() as db:
            db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                (summary.id, owner, summary.title, now, now),
            )
        return summary

    def list(self, owner: str) -> list[ConversationSummary]:
        """The owner's conversations, the most recently used first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT id, title, created_at, updated_at FROM conversations WHERE owner = ? "
                "ORDER BY updated_at DESC, created_at DESC",
                (owner,),
            ).fetchall()
        return [ConversationSummary(**dict(r)) for r in rows]

    def get(self, owner: str, conversation_id: str) -> Conversation:
        with self._db() as db:
            row = self._row(db, owner, conversation_id)
            rows = db.execute(
                "SELECT e.id, e.question, e.answer, e.created_at, f.rating, f.comment FROM exchanges e "
                "LEFT JOIN feedback f ON f.exchange_id = e.id WHERE e.conversation_id = ? ORDER BY e.id",
                (conversation_id,),
            ).fetchall()
        exchanges = [
            Exchange(
                id=r["id"],
                question=r["question"],
                answer=Answer.model_validate_json(r["answer"]),
                created_at=r["created_at"],
                feedback=Feedback(rating=r["rating"], comment=r["comment"]) if r["rating"] else None,
            )
            for r in rows
        ]
        return Conversation(**dict(row), exchanges=exchanges)

    def rename(self, owner: str, conversation_id: str, title: str) -> ConversationSummary:
        with self._db() as db:
            self._row(db, owner, conversation_id)
            db.execute(
                "UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?",
                (title, _now(), conversation_id),
            )
            return ConversationSummary(**dict(self._row(db, owner, conversation_id)))

    def delete(self, owner: str, conversation_id: str) -> None:
        with self._db() as db:
            self._row(db, owner, conversation_id)
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def add_exchange(self, owner: str, conversation_id: str, question: str, answer: Answer) -> Exchange:
        """Append a question and its answer to a conversation."""
        now = _now()
        with self._db() as db:
            self._row(db, owner, conversation_id)
            cursor = db.execute(
                "INSERT INTO exchanges (conversation_id, question, answer, created_at) VALUES (?, ?, ?, ?)",
                (conversation_id, question, answer.model_dump_json(), now),
            )
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
        return Exchange(id=cursor.lastrowid or 0, question=question, answer=answer, created_at=now)

    def give_feedback(self, owner: str, conversation_id: str, exchange_id: int, feedback: Feedback) -> None:
        """Record (or replace) the feedback on one answer, with a copy of its question and answer."""
        with self._db() as db:
            self._row(db, owner, conversation_id)
            row = db.execute(
                "SELECT question, answer FROM exchanges WHERE id = ? AND conversation_id = ?",
                (exchange_id, conversation_id),
            ).fetchone()
            if row is None:
                raise ConversationNotFound(f"no answer {exchange_id} in this conversation")
            db.execute(
                "INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?)",
                (exchange_id, owner, feedback.rating, feedback.comment, row[0], row[1], _now()),
            )

    def feedback_given(self) -> list[tuple[str, Answer, Feedback]]:
        """Every rated answer, of every owner, oldest first: (question, answer, feedback)."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM feedback ORDER BY created_at, exchange_id").fetchall()
        return [(r["question"], Answer.model_validate_json(r["answer"]), Feedback(**dict(r))) for r in rows]

    @staticmethod
    def _row(db: sqlite3.Connection, owner: str, conversation_id: str) -> sqlite3.Row:
        row = db.execute(
            "SELECT id, title, created_at, updated_at FROM conversations WHERE id = ? AND owner = ?",
            (conversation_id, owner),
        ).fetchone()
        if row is None:
            raise ConversationNotFound(f"no conversation {conversation_id}")
        return row
