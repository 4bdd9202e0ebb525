"""How the store keeps sentences: their vectors in metadata, never in a vector index (they are only
read by chunk), and a store written the earlier way still read and written as it is."""

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.chunking import Sentence, split_sentences
from rag.embedding import embed_texts
from rag.models import Chunk
from rag.settings import Settings
from rag.store import open_store, sentence_id

TEXT = "Mount Etna is an active volcano. It erupted in 2021. Catania lies at its foot."


def chunk(index: int = 0, text: str = TEXT) -> Chunk:
    return Chunk(
        id=f"etna-{index}",
        source="etna.txt",
        title="Etna",
        content_hash="h1",
        index=index,
        start_char=0,
        end_char=len(text),
        text=text,
    )


def sentences_of(c: Chunk) -> list[tuple[str, Sentence]]:
    return [(c.id, s) for s in split_sentences(c.text)]


def test_sentence_vectors_are_kept_in_metadata_with_a_placeholder_in_the_vector_index(
    settings: Settings, embedder: BaseEmbedding
) -> None:
    store = open_store(settings)
    c = chunk()
    sentences = sentences_of(c)
    vectors = embed_texts(embedder, [s.text for _, s in sentences])
    store.add([c], embed_texts(embedder, [c.text]), sentences, vectors)

    assert all(len(e) == 1 for e in store.sentences.peek(10)["embeddings"])
    found = store.sentences_of([c.id])
    assert [s.sentence.text for s in found] == [s.text for _, s in sentences]
    for stored, vector in zip(found, vectors, strict=True):
        assert float(stored.embedding @ vector) > 0.9999
    by_id = store.sentence_embeddings([sentence_id(c.id, s) for _, s in sentences])
    assert np.allclose(list(by_id.values()), vectors, atol=1e-3)
    [(pairs, matrix)] = list(store.sentence_pages())
    assert matrix is not None and matrix.shape == vectors.shape and len(pairs) == len(sentences)


def test_a_store_whose_sentence_vectors_are_indexed_is_still_read_and_written_that_way(
    settings: Settings, embedder: BaseEmbedding
) -> None:
    store = open_store(settings)
    old = chunk(0)
    old_sentences = sentences_of(old)
    old_vectors = embed_texts(embedder, [s.text for _, s in old_sentences])
    # As the previous version wrote them: the real vectors in the index, none in metadata.
    store.sentences.upsert(
        ids=[sentence_id(cid, s) for cid, s in old_sentences],
        embeddings=old_vectors.tolist(),
        documents=[s.text for _, s in old_sentences],
        metadatas=[{"chunk_id": cid, "start": s.start, "end": s.end} for cid, s in old_sentences],
    )

    reopened = open_store(settings)
    new = chunk(1, "Stromboli erupts every few minutes. Its glow guided sailors.")
    new_sentences = sentences_of(new)
    new_vectors = embed_texts(embedder, [s.text for _, s in new_sentences])
    reopened.add([new], embed_texts(embedder, [new.text]), new_sentences, new_vectors)

    assert all(len(e) == old_vectors.shape[1] for e in reopened.sentences.peek(10)["embeddings"])
    found = {s.sentence.text: s.embedding for s in reopened.sentences_of([old.id, new.id])}
    for (_, s), vector in zip(old_sentences + new_sentences, [*old_vectors, *new_vectors], strict=True):
        assert float(found[s.text] @ vector) > 0.9999
