"""All settings in one place, read from the environment and `.env`."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.errors import ConfigurationError

DEFAULT_EMBED_MODEL = "bundled:all-MiniLM-L6-v2"
# Most passages one request may ask for: an answer reads only a few, while a search may want the depth
# that recall@100 needs (the candidate pool grows with it; see Weights.pool_growth in rag/retrieval.py).
MAX_ASK_TOP_K = 50
MAX_SEARCH_TOP_K = 100
_COLLECTION_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]")


class Settings(BaseSettings):
    """Every knob of the product; names match `.env.example`."""

    # Empty values (as in .env.example) mean "use the default", never an empty key or URL.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    corpus_dir: Path = Field(Path("corpus"), description="Folder of documents to ingest.")
    data_dir: Path = Field(Path(".data"), description="Where the embedded Chroma and indexes live.")
    collection_name: str = Field(
        "documents",
        description="Chroma collection name: 3-512 of a-z A-Z 0-9 . _ -, starting and ending alphanumeric.",
    )
    chroma_host: str | None = Field(None, description="Chroma server host; unset = embedded store.")
    chroma_port: int = Field(8001, description="Chroma server port (not 8000: that is the API's).")
    embed_model: str = Field(
        DEFAULT_EMBED_MODEL,
        description="Embedding model: the bundled default, a local path, or a hub name.",
    )
    embed_precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="Precision of passage and question embeddings: auto is bfloat16 on CPUs that compute "
        "it natively (2-3× faster, the same vectors to 4 decimals), else float32.",
    )
    chunk_size: int = Field(256, gt=16, description="Chunk size in tokens (tiktoken cl100k).")
    chunk_overlap: int = Field(48, ge=0, description="Overlap between chunks in tokens.")
    top_k: int = Field(5, ge=1, le=MAX_ASK_TOP_K, description="Passages retrieved per question.")
    retrieval_mode: Literal["hybrid", "dense", "bm25"] = Field(
        "hybrid",
        description="hybrid: BM25 and dense fused, then re-ranked by sentence; or one of them alone.",
    )
    query_cache_mb: float = Field(
        512,
        ge=0,
        description="RAM for a copy of the stored embeddings that questions read; a larger store keeps "
        "only text in RAM and reads embeddings from the store per question.",
    )
    min_relevance: float = Field(
        0.15,
        description="Always abstain when the best passage's relevance is below this (0..1); above it, "
        "a decision fitted on several signals decides (rag/abstention.py).",
    )
    answer_sentences: int = Field(3, ge=1, le=5, description="Most sentences in an answer.")
    max_question_chars: int = Field(1000, ge=10, description="Longest accepted question.")
    max_history_turns: int = Field(20, ge=0, description="Most earlier chat turns accepted with a question.")
    max_history_chars: int = Field(
        20_000, ge=0, description="Most characters accepted in the earlier chat turns, all together."
    )
    max_file_bytes: int = Field(50_000_000, gt=0, description="Larger files are refused at ingestion.")
    max_document_chars: int = Field(
        20_000_000, gt=0, description="A file whose text is longer is refused (decompression bombs)."
    )
    max_document_pages: int = Field(
        20_000, gt=0, description="A PDF with more pages is refused; PDFs are read page by page."
    )
    max_read_seconds: float = Field(
        120.0, gt=0, description="A file that takes longer to read (parse to text) is refused."
    )
    store_timeout: float = Field(
        15.0, gt=0, description="Seconds a Chroma server call may take before the store counts as down."
    )
    admin_api_key: SecretStr | None = Field(
        None, description="When set, write endpoints (upload, delete, ingest) require this key."
    )
    api_keys: str | None = Field(
        None,
        description="Comma-separated API keys; when set, every endpoint but /health and /ready needs one.",
    )
    rate_limit: str = Field("120/minute", description="Requests allowed per API key (or per client address).")
    max_body_bytes: int = Field(60_000_000, gt=0, description="Larger request bodies are refused with 413.")
    auth_failure_limit: str = Field(
        "10/minute", description="Requests with a missing or wrong key allowed per client address."
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="Where rate-limit counters live: memory:// (one process) or redis://host:port (shared).",
    )
    trusted_proxies: str | None = Field(
        None,
        description="Comma-separated proxy addresses whose X-Forwarded-For is believed; none by default.",
    )
    header_timeout: float = Field(10.0, gt=0, description="Seconds a client may take to send its headers.")
    body_timeout: float = Field(60.0, gt=0, description="Seconds a client may take to send its body.")
    max_connections: int = Field(
        200, ge=1, description="Concurrent connections (and requests) before new requests get 503."
    )
    shutdown_grace_seconds: float = Field(
        20.0, ge=0, description="On SIGTERM, running answer streams get this long to finish."
    )
    torch_threads: int = Field(
        1, ge=0, description="CPU threads torch uses per API process for embeddings (0: torch's default)."
    )
    public_docs: bool = Field(
        False, description="Serve /docs, /redoc and /openapi.json without a key even when keys are set."
    )
    cors_origins: str | None = Field(
        None, description="Comma-separated origins allowed by CORS; none by default."
    )
    log_questions: bool = Field(False, description="Log question text at info level (off: privacy).")
    log_format: Literal["auto", "text", "json"] = Field(
        "auto", description="Server logs: readable lines in a terminal and JSON otherwise (auto), or forced."
    )
    answerer: Literal["extractive", "openai_like", "ollama", "local"] = Field(
        "extractive", description="Who writes answers: quoted sentences (no LLM), or an LLM backend."
    )
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible base URL (…/v1) or Ollama URL (default http://127.0.0.1:11434)."
    )
    llm_model: str | None = Field(None, description="Model name on the LLM server.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the OpenAI-compatible server.")
    llm_timeout: float = Field(
        30.0, gt=0, description="Seconds an LLM answer may take in all; then the extractive one stands in."
    )
    llm_max_tokens: int = Field(256, ge=16, description="Longest generated answer, in tokens.")
    local_model_path: str | None = Field(
        None, description="GGUF file for ANSWERER=local (default: the bundled Gemma 3 270M)."
    )
    ui_api_key: SecretStr | None = Field(
        None, description="Key the chat sends to the API when API_KEYS is set (default: ADMIN_API_KEY)."
    )
    api_url: str = Field("http://127.0.0.1:8000", description="Where the UI finds the API.")

    @field_validator("collection_name")
    @classmethod
    def _chroma_collection_name(cls, name: str) -> str:
        # Chroma's own rule, checked here so a bad name fails at start with a clear message.
        if not _COLLECTION_NAME.fullmatch(name):
            raise ValueError(
                f"{name!r} is not a Chroma collection name: use 3-512 letters, digits, '.', '_' or '-', "
                "starting and ending with a letter or digit"
            )
        return name

    @field_validator("api_keys")
    @classmethod
    def _keys_not_blank(cls, value: str | None) -> str | None:
        # " , " would otherwise read as "no keys" and silently turn authentication off.
        if value is not None and value.strip() and not any(k.strip() for k in value.split(",")):
            raise ValueError("API_KEYS holds only commas and spaces; set real keys or leave it empty")
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in (self.trusted_proxies or "").split(",") if p.strip()]

    @property
    def api_key_list(self) -> list[str]:
        return [k.strip() for k in (self.api_keys or "").split(",") if k.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in (self.cors_origins or "").split(",") if o.strip()]

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once; ConfigurationError names every bad one."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None
