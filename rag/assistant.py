"""The whole question path wired in one place: settings → embedder, store, retriever, answerer."""

from __future__ import annotations

from dataclasses import dataclass

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.answering import Answerer, ExtractiveAnswerer, abstain
from rag.condense import standalone_question
from rag.embedding import load_embedder
from rag.errors import InvalidQuestion
from rag.models import Answer, Passage, Turn
from rag.retrieval import Mode, Retriever
from rag.settings import Settings
from rag.store import Store, open_store


@dataclass
class Assistant:
    """Answers questions over the stored documents."""

    settings: Settings
    store: Store
    embedder: BaseEmbedding
    retriever: Retriever
    answerer: Answerer

    def search(self, query: str, top_k: int | None = None) -> list[Passage]:
        """The passages most relevant to the query, best first."""
        text = validate_question(query, self.settings.max_question_chars)
        return self.retriever.retrieve(self.retriever.query(text), top_k or self.settings.top_k)

    def ask(self, question: str, history: list[Turn] | None = None, top_k: int | None = None) -> Answer:
        """A cited answer, or an abstention when nothing retrieved is relevant enough."""
        return self.ask_with_evidence(question, history, top_k)[0]

    def ask_with_evidence(
        self, question: str, history: list[Turn] | None = None, top_k: int | None = None
    ) -> tuple[Answer, list[Passage]]:
        """The answer together with every passage retrieved for it, for evaluation and debugging."""
        text = validate_question(question, self.settings.max_question_chars)
        query = self.retriever.query(standalone_question(text, history))
        passages = self.retriever.retrieve(query, top_k or self.settings.top_k)
        if not passages or passages[0].score < self.settings.min_relevance:
            return abstain(), passages
        return self.answerer.answer(query, passages), passages


def validate_question(question: str, max_chars: int) -> str:
    """The question stripped, or InvalidQuestion when it is blank or too long."""
    text = question.strip()
    if not text:
        raise InvalidQuestion("the question is empty")
    if len(text) > max_chars:
        raise InvalidQuestion(f"the question is {len(text)} characters long; the limit is {max_chars}")
    return text


def build_assistant(
    settings: Settings, embedder: BaseEmbedding | None = None, mode: Mode = "hybrid"
) -> Assistant:
    """Wire the parts named by the settings; pass an embedder to share one already loaded."""
    embedder = embedder or load_embedder(settings.embed_model)
    store = open_store(settings)
    retriever = Retriever(store, embedder, mode=mode, index_dir=settings.data_dir / "bm25")
    answerer = ExtractiveAnswerer(max_sentences=settings.answer_sentences)
    return Assistant(settings, store, embedder, retriever, answerer)
