"""A small model that reads a question and a sentence together and says how likely the sentence answers it.

It is the bundled all-MiniLM-L6-v2 read as a cross-encoder: its top layers and a one-number head were
trained here (`python -m rag.train_reader`) on SQuAD v1.1 questions, to tell the sentence that answers
from its neighbours. Only those weights ship (`reader_model.safetensors`, float16); the lower layers
are the embedding package's own. No reader model with trustworthy weights is on the package index.
"""

from __future__ import annotations

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


def base_folder() -> Path:
    """The folder of the bundled MiniLM's transformer (config, tokenizer, weights)."""
    from rag.embedding import DEFAULT_EMBED_MODEL, resolve_model_path, transformer_folder

    return transformer_folder(Path(resolve_model_path(DEFAULT_EMBED_MODEL)))


def tokenizer() -> Any:
    """The bundled model's tokenizer, cut at MAX_TOKENS and not padded."""
    from tokenizers import Tokenizer

    loaded = Tokenizer.from_file(str(base_folder() / "tokenizer.json"))
    loaded.no_padding()
    loaded.enable_truncation(MAX_TOKENS)
    return loaded


def encode(tokenizer: Any, pairs: list[tuple[str, str]]) -> tuple[Any, Any, Any, list[Any]]:
    """Token ids, token types and attention mask of (question, text) pairs, and their encodings."""
    import torch

    encodings = tokenizer.encode_batch(pairs)
    # Widths rounded up to a multiple of 16: a few shapes, each of whose kernels oneDNN builds once
    # (a new shape per question costs more than the padding).
    width = -(-max(len(e.ids) for e in encodings) // 16) * 16
    ids = torch.zeros((len(pairs), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)] = torch.tensor(e.ids)
        types[row, : len(e.ids)] = torch.tensor(e.type_ids)
        mask[row, : len(e.ids)] = 1
    return ids, types, mask, encodings


def fill(layers: Any, head: Any, path: Path) -> None:
    """Copy a trained file's top layers ("layers.N.…") and head ("head.…") into the given modules."""
    import torch
    from safetensors import safe_open

    tensors = {f"layers.{k}": v for k, v in layers.state_dict().items()}
    tensors |= {f"head.{k}": v for k, v in head.state_dict().items()}
    with safe_open(path, framework="pt") as file, torch.no_grad():
        for key in file.keys():  # noqa: SIM118 (safe_open is not a dict)
            tensors[key].copy_(file.get_tensor(key))


def pair_text(title: str, sentence: str) -> str:
    """The second segment the model reads: the document's title, then the sentence."""
    return f"{title}. {sentence}" if title else sentence


class ReaderModel:
    """Question and sentences in, one logit per sentence out (positive: it likely answers)."""

    def __init__(self, encoder: Any, head: Any, spans: tuple[Any, Any] | None = None) -> None:
        self.encoder, self.head, self.tokenizer = encoder, head, tokenizer()
        self.spans = spans  # (top layers, head) that mark the answer in a sentence, if installed
        # The span head runs its own top layers over lower layers it shares with the sentence head: a
        # sentence just scored hands over its lower layers' states instead of computing them again.
        self.shared = 0
        while (
            spans
            and self.shared < len(encoder.layers)
            and spans[0][self.shared] is encoder.layers[self.shared]
        ):
            self.shared += 1
        self.cache_size = 4096  # pairs kept: the answerer and the abstention read the same sentences
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()
        # The last few questions' pairs: their lower layers' states and attention mask.
        self._lower: OrderedDict[tuple[str, str], tuple[Any, Any]] = OrderedDict()
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
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        with self._lock:
            return np.array([self._cache.get((question, t), 0.0) for t in texts])

    def span(self, question: str, title: str, sentence: str) -> tuple[int, int] | None:
        """Where in the sentence the answer to the question is, in characters; None without a span head,
        or when the sentence is too long for the model to read to its end."""
        if self.spans is None:
            return None
        import torch

        layers, head = self.spans
        text = pair_text(title, sentence)
        ids, types, mask, encodings = encode(self.tokenizer, [(question, text)])
        with self._lock:
            lower, mask = self._lower.get((question, text), (None, mask))
        with torch.inference_mode():
            if lower is None:
                lower = self.encoder.run(self.encoder.embed(ids, types), mask, layers[: self.shared])
            x = self.encoder.run(lower, mask, layers[self.shared :])
            start, end = head(x.float())[0].unbind(-1)
        offsets, sequence = encodings[0].offsets, encodings[0].sequence_ids
        shift = len(text) - len(sentence)  # the sentence follows the title in the pair
        inside = [
            i
            for i, (s, (a, b)) in enumerate(zip(sequence, offsets, strict=True))
            if s == 1 and b > a >= shift
        ]
        if not inside or offsets[inside[-1]][1] < len(text):  # cut at MAX_TOKENS: the answer may be past it
            return None
        # Every start and end inside the sentence at once: end not before start, at most MAX_SPAN_TOKENS.
        at = torch.tensor(inside)
        pair = start[at][:, None] + end[at][None, :]
        gap = at[None, :] - at[:, None]
        pair[(gap < 0) | (gap >= MAX_SPAN_TOKENS)] = float("-inf")
        first, last = divmod(int(pair.argmax()), len(inside))
        return offsets[inside[first]][0] - shift, offsets[inside[last]][1] - shift

    def _score(self, question: str, texts: list[str]) -> list[float]:
        import torch

        ids, types, mask, _ = encode(self.tokenizer, [(question, t) for t in texts])
        with torch.inference_mode():
            layers = self.encoder.layers
            lower = self.encoder.run(self.encoder.embed(ids, types), mask, layers[: self.shared])
            states = self.encoder.run(lower, mask, layers[self.shared :]).float()
            with self._lock:
                # Kept at the batch's padded width: a few shapes, each of whose kernels oneDNN builds once.
                for row, text in enumerate(texts if self.shared else ()):
                    self._lower[(question, text)] = (lower[row : row + 1].clone(), mask[row : row + 1])
                while len(self._lower) > 32:
                    self._lower.popitem(last=False)
            weights = mask.unsqueeze(-1).float()
            pooled = (states * weights).sum(1) / weights.sum(1)
            return self.head(pooled).squeeze(-1).tolist()


_LOADING = threading.Lock()


@lru_cache(maxsize=1)
def _load() -> ReaderModel | None:
    if not WEIGHTS.exists():
        return None
    import copy

    import torch

    from rag import bert
    from rag.embedding import native_bfloat16

    encoder = bert.load(base_folder(), torch.bfloat16 if native_bfloat16() else torch.float32)
    head = torch.nn.Linear(encoder.word.embedding_dim, 1)
    fill(encoder.layers, head, WEIGHTS)
    spans = None
    if SPAN_WEIGHTS.exists():
        from safetensors import safe_open

        with safe_open(SPAN_WEIGHTS, framework="pt") as file:
            trained = {int(k.split(".")[1]) for k in file.keys() if k.startswith("layers.")}  # noqa: SIM118
        # The span head's own top layers over the sentence reader's lower ones, held once for both.
        layers = torch.nn.ModuleList(
            copy.deepcopy(layer) if i in trained else layer for i, layer in enumerate(encoder.layers)
        )
        span_head = torch.nn.Linear(encoder.word.embedding_dim, 2)
        fill(layers, span_head, SPAN_WEIGHTS)
        spans = (layers.eval(), span_head.eval())
    return ReaderModel(encoder, head.eval(), spans)


def reader_model() -> ReaderModel | None:
    """The trained reader, loaded at first use; None when its weights are not installed."""
    with _LOADING:
        return _load()
