"""Which embedding model wrote a store, recorded with it, so that another model never mixes its vectors in.

A model is told apart by its vector space, not its name: the record keeps the vector of a fixed probe
sentence, so the bundled model copied to another folder is still the same model, while another model
of the same dimension is not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.embedding import embed_texts
from rag.errors import EmbeddingModelMismatch

PROBE = "A fixed sentence whose embedding tells one model's vector space from another's."
# One model gives the probe the same vector wherever it is loaded from (to float rounding); two models
# of one dimension are far apart.
_SAME_SPACE = 0.99
_KEYS = ("embed_model", "embed_dimension", "embed_probe")
REINGEST = "python -m ingest --full (make ingest ARGS=--full)"


@dataclass(frozen=True)
class ModelRecord:
    """An embedding model as a store records it: the EMBED_MODEL it was named by, its dimension, and
    its vector of the probe sentence."""

    model: str
    dimension: int
    probe: tuple[float, ...]

    def same_space(self, other: ModelRecord) -> bool:
        """True when both records are of one model, wherever it was loaded from."""
        if self.dimension != other.dimension or len(self.probe) != len(other.probe):
            return False
        return float(np.dot(self.probe, other.probe)) >= _SAME_SPACE

    def metadata(self) -> dict[str, Any]:
        """As Chroma collection metadata (scalars only)."""
        return {
            "embed_model": self.model,
            "embed_dimension": self.dimension,
            "embed_probe": json.dumps([round(x, 5) for x in self.probe]),
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> ModelRecord | None:
        """The record in collection metadata; None for a store written before models were recorded."""
        if not all(key in meta for key in _KEYS):
            return None
        probe = tuple(float(x) for x in json.loads(meta["embed_probe"]))
        return cls(str(meta["embed_model"]), int(meta["embed_dimension"]), probe)


def describe(embedder: BaseEmbedding, name: str) -> ModelRecord:
    """The record of a loaded model, named as EMBED_MODEL names it (either precision compares as the
    same model)."""
    vector = embed_texts(embedder, [PROBE])[0]
    return ModelRecord(name, len(vector), tuple(float(x) for x in vector))


def mismatch(stored: str, configured: ModelRecord) -> EmbeddingModelMismatch:
    """The error for a store whose vectors another model wrote, saying what to do."""
    return EmbeddingModelMismatch(
        f"the store was written by embedding model {stored}, but EMBED_MODEL is {configured.model!r} "
        f"({configured.dimension} dimensions); their vectors cannot be mixed. Re-embed every document "
        f"with the configured model: {REINGEST}, or set EMBED_MODEL back to the store's model"
    )
