"""A BERT encoder in plain torch, for the BERT-family sentence models (MiniLM, e5, bge and the like).

Why not transformers' BertModel: importing transformers' modelling code pulls in torch.distributed,
sympy and scipy, 155 MB in every process that embeds, to run six layers. This is the same
computation (tests compare it with transformers), read from the same config.json and
model.safetensors; a model it does not describe is run with transformers instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional

_ACTIVATIONS = {
    "gelu": functional.gelu,
    "gelu_new": lambda x: functional.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: functional.gelu(x, approximate="tanh"),
    "relu": functional.relu,
}


def supports(folder: Path) -> bool:
    """Whether the model in folder is a plain BERT encoder this module can run."""
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return (
        config.get("model_type") == "bert"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and config.get("hidden_act", "gelu") in _ACTIVATIONS
        and not config.get("is_decoder", False)
        and (folder / "model.safetensors").exists()
        and (folder / "tokenizer.json").exists()
    )


class Layer(nn.Module):
    """One encoder layer: self-attention then the feed-forward block, each with a residual and a norm."""

    def __init__(self, config: dict[str, Any], dtype: torch.dtype) -> None:
        super().__init__()
        hidden, eps = config["hidden_size"], config.get("layer_norm_eps", 1e-12)
        self.heads = config["num_attention_heads"]
        self.query = nn.Linear(hidden, hidden, dtype=dtype)
        self.key = nn.Linear(hidden, hidden, dtype=dtype)
        self.value = nn.Linear(hidden, hidden, dtype=dtype)
        self.attention_output = nn.Linear(hidden, hidden, dtype=dtype)
        self.attention_norm = nn.LayerNorm(hidden, eps=eps, dtype=dtype)
        self.intermediate = nn.Linear(hidden, config["intermediate_size"], dtype=dtype)
        self.output = nn.Linear(config["intermediate_size"], hidden, dtype=dtype)
        self.output_norm = nn.LayerNorm(hidden, eps=eps, dtype=dtype)
        self.activation = _ACTIVATIONS[config.get("hidden_act", "gelu")]

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, hidden // self.heads).transpose(1, 2)

        attended = functional.scaled_dot_product_attention(
            heads(self.query(x)), heads(self.key(x)), heads(self.value(x)), attn_mask=mask
        )
        attended = attended.transpose(1, 2).reshape(batch, length, hidden)
        x = self.attention_norm(x + self.attention_output(attended))
        return self.output_norm(x + self.output(self.activation(self.intermediate(x))))


class Bert(nn.Module):
    """Token ids and attention mask in, the last layer's token states out."""

    def __init__(self, config: dict[str, Any], dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        hidden = config["hidden_size"]
        self.word = nn.Embedding(config["vocab_size"], hidden, dtype=dtype)
        self.position = nn.Embedding(config["max_position_embeddings"], hidden, dtype=dtype)
        self.token_type = nn.Embedding(config.get("type_vocab_size", 2), hidden, dtype=dtype)
        self.norm = nn.LayerNorm(hidden, eps=config.get("layer_norm_eps", 1e-12), dtype=dtype)
        self.layers = nn.ModuleList(Layer(config, dtype) for _ in range(config["num_hidden_layers"]))

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """The token embeddings the first layer reads."""
        positions = torch.arange(input_ids.shape[1])
        # A sentence model reads one segment (token type 0); a reader reads a question and a sentence.
        types = self.token_type.weight[0] if token_type_ids is None else self.token_type(token_type_ids)
        return self.norm(self.word(input_ids) + self.position(positions) + types)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        layers: nn.ModuleList | None = None,
    ) -> torch.Tensor:
        """layers: other layers to run instead of the model's own (a reader's head sharing its lower ones)."""
        x = self.embed(input_ids, token_type_ids)
        return self.run(x, attention_mask, self.layers if layers is None else layers)

    def run(self, x: torch.Tensor, attention_mask: torch.Tensor, layers: Any) -> torch.Tensor:
        """Token states through the given layers (some of the model's own, or a reader's)."""
        mask = attention_mask.bool()[:, None, None, :]  # True where a key may be attended to
        for layer in layers:
            x = layer(x, mask)
        return x


def load(folder: Path, dtype: torch.dtype = torch.float32) -> Bert:
    """The encoder of a BERT model folder (see supports), in eval mode, with weights of dtype."""
    from safetensors import safe_open

    # Built in dtype, then filled one tensor at a time: memory never holds the model twice. (Built on
    # the meta device instead, torch imports its compiler and sympy, 110 MB, to initialise it.)
    model = Bert(json.loads((folder / "config.json").read_text()), dtype)
    tensors = model.state_dict()
    filled = set()
    with safe_open(folder / "model.safetensors", framework="pt") as file, torch.no_grad():
        for key in file.keys():  # noqa: SIM118 (safe_open is not a dict)
            name = _our_name(key.removeprefix("bert."))
            if name in tensors:
                tensors[name].copy_(file.get_tensor(key))
                filled.add(name)
    missing = set(tensors) - filled
    if missing:
        raise ValueError(f"{folder} lacks weights {sorted(missing)[:3]}")
    return model.eval()


_RENAMES = [
    ("embeddings.word_embeddings.", "word."),
    ("embeddings.position_embeddings.", "position."),
    ("embeddings.token_type_embeddings.", "token_type."),
    ("embeddings.LayerNorm.", "norm."),
    ("encoder.layer.", "layers."),
    ("attention.self.query.", "query."),
    ("attention.self.key.", "key."),
    ("attention.self.value.", "value."),
    ("attention.output.dense.", "attention_output."),
    ("attention.output.LayerNorm.", "attention_norm."),
    ("intermediate.dense.", "intermediate."),
    ("output.dense.", "output."),
    ("output.LayerNorm.", "output_norm."),
]


def _our_name(name: str) -> str:
    """transformers' weight name as this module names it (e.g. encoder.layer.0.output.dense.weight
    → layers.0.output.weight); names of no use here (the pooler) pass through and are ignored."""
    for old, new in _RENAMES:
        name = name.replace(old, new)
    return name
