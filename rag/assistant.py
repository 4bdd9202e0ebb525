"""The whole question path wired in one place: settings → embedder, store, retriever, answerer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import LLM

from rag.abstention import abstains
from rag.answering import Answerer, AnswerEvent, CitationsEvent, ExtractiveAnswerer, TokenEvent, abstain
from rag.condense import already_said, changed_subject, standalone_question
from rag.embedding import load_embedder
from rag.errors import InvalidQuestion, StoreUnavailable
from rag.generative import GenerativeAnswerer
from rag.language import not_english_notice
from rag.llm import build_llm, with_sampling
from rag.model_record import describe
from rag.models import Answer, Passage, Turn
from rag.retrieval import Mode, Query, Retriever
from rag.settings import Settings
from rag.store import Store, open_store


@dataclass
class Retrieved:
    """A question after retrieval: what the answerer needs, and how long it took."""

    query: Query
    passages: list[Passage]
    abstain: bool
    timing: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Done:
    """Last event of a stream: the whole answer and where the time went."""

    answer: Answer
    timing: dict[str, float]


StreamEvent = CitationsEvent | TokenEvent | Done


@dataclass
class Assistant:
    """Answers questions over the stored documents."""

    settings: Settings
    store: Store
    embedder: BaseEmbedding
    retriever: Retriever
    answerer: Answerer
    llm: LLM | None = None

    def tuned(
        self, temperature: float | None = None, top_p: float | None = None, max_tokens: int | None = None
    ) -> Assistant:
        """This assistant with one request's sampling settings for its LLM answerer; itself without one."""
        unset = temperature is None and top_p is None and max_tokens is None
        if unset or not isinstance(self.answerer, GenerativeAnswerer):
            return self
        llm = with_sampling(self.answerer.llm, temperature, top_p, max_tokens)
        return replace(self, answerer=GenerativeAnswerer(llm, fallback=self.answerer.fallback))

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
        retrieved = self.retrieve(question, history, top_k)
        return self.answer(retrieved).answer, retrieved.passages

    def retrieve(
        self, question: str, history: list[Turn] | None = None, top_k: int | None = None
    ) -> Retrieved:
        """Validate, condense and retrieve; raises before any answering starts."""
        started = time.perf_counter()
        text = validate_question(question, self.settings.max_question_chars)
        s = self.settings
        history = validate_history(history or [], s.max_history_turns, s.max_history_chars)
        said = already_said(text, history)
        standalone = standalone_question(text, history, self.llm)
        query = self.retriever.query(standalone, intent=text, said=said)
        passages = self.retriever.retrieve(query, top_k or self.settings.top_k)
        if standalone != text:  # read as a follow-up: unless the conversation has moved on
            alone = self.retriever.query(text, intent=text)
            found = self.retriever.retrieve(alone, top_k or self.settings.top_k)
            if changed_subject(text, passages, found, self.retriever.idf(text, seen_only=True)):
                query, passages = alone, found
        too_weak = abstains(query.asked, passages, self.retriever.idf(query.asked), s.min_relevance)
        elapsed = {"retrieve_ms": round((time.perf_counter() - started) * 1000, 1)}
        return Retrieved(query, passages, too_weak, elapsed)

    def answer(self, retrieved: Retrieved) -> Done:
        """The whole answer for a retrieval, with timing."""
        *_, done = self.stream(retrieved)
        assert isinstance(done, Done)
        return done

    def stream(self, retrieved: Retrieved) -> Iterator[StreamEvent]:
        """Citations first, then answer text as it comes, then the whole answer with timing."""
        started = time.perf_counter()
        events: Iterator[AnswerEvent]
        if retrieved.abstain:
            final = abstain(notice=not_english_notice(retrieved.query.asked))
            events = iter([CitationsEvent([]), TokenEvent(final.answer), final])
        else:
            events = self.answerer.stream(retrieved.query, retrieved.passages)
        for event in events:
            if isinstance(event, Answer):
                answer_ms = round((time.perf_counter() - started) * 1000, 1)
                timing = {**retrieved.timing, "answer_ms": answer_ms}
                timing["total_ms"] = round(timing["retrieve_ms"] + answer_ms, 1)
                yield Done(event, timing)
            else:
                yield event


def validate_question(question: str, max_chars: int) -> str:
    """The question stripped, or InvalidQuestion when it is blank or too long."""
    text = question.strip()
    if not text:
        raise InvalidQuestion("the question is empty")
    if len(text) > max_chars:
        raise InvalidQuestion(f"the question is {len(text)} characters long; the limit is {max_chars}")
    require_unicode(text, "the question")
    return text


def validate_history(history: list[Turn], max_turns: int, max_chars: int) -> list[Turn]:
    """The history, or InvalidQuestion for too many turns or characters, or text that is not Unicode."""
    if len(history) > max_turns:
        raise InvalidQuestion(f"the history has {len(history)} turns; the limit is {max_turns}")
    chars = sum(len(turn.content) for turn in history)
    if chars > max_chars:
        raise InvalidQuestion(f"the history is {chars} characters long; the limit is {max_chars}")
    for turn in history:
        require_unicode(turn.content, "a turn of the history")
    return history


def require_unicode(text: str, what: str) -> None:
    """InvalidQuestion for text that cannot be encoded, such as a lone surrogate ("\\ud800") from JSON.

    Checked up front: the tokenizer fails on it only after the embedding library's retries (seconds)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidQuestion(
            f"{what} holds a character that is not valid Unicode text (position {exc.start})"
        ) from None


def build_assistant(
    settings: Settings,
    embedder: BaseEmbedding | None = None,
    mode: Mode | None = None,
    llm: LLM | None = None,
) -> Assistant:
    """Wire the parts named by the settings; pass an embedder (or LLM) to share one already loaded, and
    a mode to override RETRIEVAL_MODE.

    EmbeddingModelMismatch when the store's vectors are another model's than EMBED_MODEL's."""
    embedder = embedder or load_embedder(settings.embed_model, settings.embed_precision)
    store = open_store(settings)
    store.check_model(describe(embedder, settings.embed_model))
    retriever = Retriever(
        store,
        embedder,
        mode=mode or settings.retrieval_mode,
        index_dir=settings.data_dir / "bm25",
        cache_mb=settings.query_cache_mb,
    )
    extractive = ExtractiveAnswerer(max_sentences=settings.answer_sentences)
    llm = llm or build_llm(settings)
    answerer: Answerer = (
        GenerativeAnswerer(llm, fallback=extractive, deadline=settings.llm_timeout) if llm else extractive
    )
    return Assistant(settings, store, embedder, retriever, answerer, llm)


def refuse_another_models_store(settings: Settings) -> None:
    """EmbeddingModelMismatch before serving when the store holds another model's vectors. The model
    stays loaded for the assistant built next (one process); a store that is down is reported later."""
    embedder = load_embedder(settings.embed_model, settings.embed_precision)
    try:
        open_store(settings).check_model(describe(embedder, settings.embed_model))
    except StoreUnavailable:
        return
