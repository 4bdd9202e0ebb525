"""The LLM named by the settings, through llama-index's integrations; None for the extractive default."""

from __future__ import annotations

from typing import Any

from llama_index.core.llms import LLM

from rag.errors import ConfigurationError
from rag.settings import Settings

OLLAMA_URL = "http://127.0.0.1:11434"


def build_llm(settings: Settings) -> LLM | None:
    """An LLM client for ANSWERER, configured to fail fast so the extractive fallback can answer."""
    if settings.answerer == "extractive":
        return None
    if settings.answerer == "local":
        from rag.local_llm import load_local_llm

        return load_local_llm(
            settings.local_model_path, settings.llm_max_tokens, str(settings.data_dir / "models")
        )
    if not settings.llm_model:
        raise ConfigurationError(f"ANSWERER={settings.answerer} needs LLM_MODEL")
    if settings.answerer == "ollama":
        from llama_index.llms.ollama import Ollama

        return Ollama(
            model=settings.llm_model,
            base_url=settings.llm_base_url or OLLAMA_URL,
            request_timeout=settings.llm_timeout,
            temperature=0.0,
            additional_kwargs={"num_predict": settings.llm_max_tokens},
        )
    from llama_index.llms.openai_like import OpenAILike

    if not settings.llm_base_url:
        raise ConfigurationError("ANSWERER=openai_like needs LLM_BASE_URL (e.g. http://host:8080/v1)")
    return OpenAILike(
        model=settings.llm_model,
        api_base=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else "none",
        is_chat_model=True,
        timeout=settings.llm_timeout,
        max_retries=0,  # a retry would double the wait before the fallback answers
        max_tokens=settings.llm_max_tokens,
        temperature=0.0,
    )


def with_sampling(
    llm: LLM, temperature: float | None = None, top_p: float | None = None, max_tokens: int | None = None
) -> LLM:
    """A copy of the LLM with one request's sampling settings; max_tokens can lower the configured cap,
    never raise it. A backend without a setting keeps its own (the local model takes only max_tokens)."""
    fields = type(llm).model_fields
    update: dict[str, Any] = {}
    extra = dict(getattr(llm, "additional_kwargs", None) or {})
    if temperature is not None and "temperature" in fields:
        update["temperature"] = temperature
    if max_tokens is not None and "max_tokens" in fields:
        update["max_tokens"] = min(max_tokens, llm.max_tokens or max_tokens)  # type: ignore[attr-defined]
    elif max_tokens is not None and "num_predict" in extra:  # Ollama's name for it
        extra["num_predict"] = min(max_tokens, extra["num_predict"])
    if top_p is not None and "additional_kwargs" in fields:
        extra["top_p"] = top_p  # both OpenAI-compatible servers and Ollama take it under this name
    if "additional_kwargs" in fields:
        update["additional_kwargs"] = extra
    return llm.model_copy(update=update)
