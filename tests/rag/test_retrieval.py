import logging
import time
from pathlib import Path

import pytest

from rag.assistant import Assistant, build_assistant
from rag.errors import StoreUnavailable
from rag.models import Chunk
from rag.retrieval import Retriever, TitleIndex, one_version_per_document
from tests.conftest import ingest_into
from tests.rag.test_ingestion import write

FACTS = {
    "volcano.txt": "Volcanoes\n\nMount Etna is an active volcano on the east coast of Sicily.",
    "bread.txt": "Baking\n\nSourdough bread rises because of wild yeast and lactic acid bacteria.",
    "chess.txt": "Chess\n\nThe Sicilian Defence is a chess opening that begins 1.e4 c5.",
}


def test_hybrid_retrieval_ranks_the_passage_that_holds_the_answer_first(
    assistant: Assistant, tmp_path: Path
) -> None:
    for name, text in FACTS.items():
        write(tmp_path / "docs", name, text)
    ingest_into(assistant, tmp_path / "docs")
    passages = assistant.search("Which volcano is on Sicily?", top_k=3)
    assert passages[0].chunk.source == "volcano.txt"
    assert passages[0].score > passages[-1].score
    assert all(0.0 <= p.score <= 1.0 for p in passages)


def test_bm25_index_follows_the_store_after_re_ingestion(assistant: Assistant, tmp_path: Path) -> None:
    write(tmp_path / "docs", "bread.txt", FACTS["bread.txt"])
    ingest_into(assistant, tmp_path / "docs")
    assert assistant.retriever.lexical_index().size == 1
    write(tmp_path / "docs", "chess.txt", FACTS["chess.txt"])
    ingest_into(assistant, tmp_path / "docs")
    assert assistant.retriever.lexical_index().size == 2
    assert assistant.search("Sicilian Defence opening", top_k=1)[0].chunk.source == "chess.txt"


def test_every_mode_returns_passages_with_scored_sentences(corpus_assistant: Assistant) -> None:
    for mode in ("hybrid", "dense", "bm25"):
        other = build_assistant(corpus_assistant.settings, corpus_assistant.embedder, mode=mode)
        passages = other.search("How many casualties a day is Russia suffering?", top_k=2)
        assert passages and passages[0].sentences
        assert any("1200 casualties" in s.text for s in passages[0].sentences)


def test_bm25_index_is_saved_per_store_version_and_reloaded(assistant: Assistant, tmp_path: Path) -> None:
    write(tmp_path / "docs", "volcano.txt", FACTS["volcano.txt"])
    ingest_into(assistant, tmp_path / "docs")
    assistant.retriever.lexical_index()
    folder = assistant.settings.data_dir / "bm25" / assistant.store.name
    [saved] = list(folder.iterdir())
    assert saved.name == assistant.store.generation()

    fresh = build_assistant(assistant.settings, assistant.embedder)
    assert fresh.retriever.lexical_index().search("Etna volcano", 1) == (
        assistant.retriever.lexical_index().search("Etna volcano", 1)
    )

    write(tmp_path / "docs", "bread.txt", FACTS["bread.txt"])
    ingest_into(assistant, tmp_path / "docs")
    assert fresh.retriever.lexical_index().size == 2
    # Both processes build the new version; wait for the slower one, whose save may lose the race.
    for retriever in (assistant.retriever, fresh.retriever):
        deadline = time.monotonic() + 60
        while retriever.built_generation != assistant.store.generation() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [p.name for p in folder.iterdir()] == [assistant.store.generation()]


def test_a_reader_caught_mid_switch_keeps_the_version_it_found(assistant: Assistant, tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    write(corpus, "volcano.txt", FACTS["volcano.txt"])
    ingest_into(assistant, corpus)
    [old] = assistant.store.all_chunks()
    found_before_the_switch = {old.id: (old, 0.9)}
    write(corpus, "volcano.txt", "Volcanoes\n\nMount Etna erupted again in 2021, on Sicily's east coast.")
    ingest_into(assistant, corpus)  # publishes the new version and deletes the old chunks
    kept = one_version_per_document(found_before_the_switch, assistant.store.readable_versions)
    assert list(kept) == [old.id]
    [new] = assistant.store.all_chunks()
    both = {old.id: (old, 0.9), new.id: (new, 0.8)}
    assert list(one_version_per_document(both, assistant.store.readable_versions)) == [new.id]
    draft = Chunk("draft", "volcano.txt", "Volcanoes", "d" * 64, 0, 0, 5, "draft")
    assert one_version_per_document({"draft": (draft, 0.99)}, assistant.store.readable_versions) == {}


BRIDGE = {
    "harbour-film.txt": "The Harbour Light\n\nThe Harbour Light is a 1994 drama film directed by "
    "Mara Quillon. It follows a lighthouse keeper through one winter.",
    "mara-quillon.txt": "Mara Quillon\n\nMara Quillon is a film director. She was born in Tromsø and "
    "studied painting before she turned to cinema.",
    "lighthouses.txt": "Lighthouses\n\nA lighthouse keeper tends the lamp and logs passing ships "
    "every winter.",
}


def test_a_second_hop_fetches_the_document_a_top_passage_names(assistant: Assistant, tmp_path: Path) -> None:
    for name, text in BRIDGE.items():
        write(tmp_path / "docs", name, text)
    ingest_into(assistant, tmp_path / "docs")
    question = "In which town was the director of The Harbour Light born?"
    sources = [p.chunk.source for p in assistant.search(question, top_k=2)]
    assert sources == ["harbour-film.txt", "mara-quillon.txt"]
    answer = assistant.ask(question)
    assert "Tromsø" in answer.answer


@pytest.mark.parametrize(
    "damage",
    [
        lambda folder: (folder / "chunks.json").write_text('{"chunk_ids": ["a", '),  # truncated
        lambda folder: (folder / "chunks.json").write_bytes(b"\x00garbage\xff" * 50),
        lambda folder: [f.write_bytes(b"not numpy") for f in folder.iterdir() if f.suffix == ".npy"],
        lambda folder: [f.unlink() for f in folder.iterdir() if f.name != "chunks.json"],
    ],
    ids=["truncated", "garbage", "bad-arrays", "files-missing"],
)
def test_a_damaged_bm25_cache_is_rebuilt_from_the_store_and_logged(
    assistant: Assistant, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage
) -> None:
    write(tmp_path / "docs", "volcano.txt", FACTS["volcano.txt"])
    write(tmp_path / "docs", "bread.txt", FACTS["bread.txt"])
    ingest_into(assistant, tmp_path / "docs")
    assistant.retriever.lexical_index()
    [folder] = (assistant.settings.data_dir / "bm25" / assistant.store.name).iterdir()
    damage(folder)
    restarted = build_assistant(assistant.settings, assistant.embedder)
    with caplog.at_level(logging.WARNING, logger="rag.lexical"):
        passages = restarted.search("Which volcano is on Sicily?", top_k=1)
    assert passages[0].chunk.source == "volcano.txt"
    assert "rebuilding it from the store" in caplog.text
    assert restarted.retriever.lexical_index().size == 2
    again = build_assistant(assistant.settings, assistant.embedder)  # the rebuilt cache is whole again
    assert again.retriever.lexical_index().search("Etna volcano", 1)[0][0] == passages[0].chunk.id


def test_after_a_store_change_bm25_is_rebuilt_in_the_background_while_the_old_index_serves(
    assistant: Assistant, tmp_path: Path
) -> None:
    write(tmp_path / "docs", "bread.txt", FACTS["bread.txt"])
    ingest_into(assistant, tmp_path / "docs")
    retriever = Retriever(assistant.store, assistant.embedder, index_dir=None, fresh_wait=0.0)
    old = retriever.lexical_index()
    assert old.size == 1
    write(tmp_path / "docs", "chess.txt", FACTS["chess.txt"])
    ingest_into(assistant, tmp_path / "docs")
    started = time.monotonic()
    served = retriever.lexical_index()
    # No wait: the previous index serves, unless the small new one happened to be built already.
    assert time.monotonic() - started < 0.5
    assert served is old or served.size == 2
    deadline = time.monotonic() + 30
    while retriever.lexical_index() is old and time.monotonic() < deadline:
        time.sleep(0.05)
    assert retriever.lexical_index().size == 2


def test_with_no_index_yet_a_request_waits_for_the_first_build_boundedly(
    assistant: Assistant, tmp_path: Path
) -> None:
    write(tmp_path / "docs", "bread.txt", FACTS["bread.txt"])
    ingest_into(assistant, tmp_path / "docs")
    waiting = Retriever(assistant.store, assistant.embedder, index_dir=None, first_wait=30.0)
    assert waiting.lexical_index().size == 1
    impatient = Retriever(assistant.store, assistant.embedder, index_dir=None, first_wait=0.0)
    with pytest.raises(StoreUnavailable, match="still being built"):
        impatient.lexical_index()


def test_a_passage_naming_its_own_title_links_nothing(assistant: Assistant, tmp_path: Path) -> None:
    write(tmp_path / "docs", "garden.md", "# Garden handbook\n\nTomatoes need six hours of sun a day.")
    write(
        tmp_path / "docs",
        "lighthouse.txt",
        "The Harbour Lighthouse\n\nThe Harbour Lighthouse has one hundred and twelve steps to climb.",
    )
    ingest_into(assistant, tmp_path / "docs")
    passages = assistant.search("How many hours of sun do tomatoes need?", top_k=2)
    assert not any(p.linked for p in passages)
    assert "Lighthouse" not in assistant.ask("How many hours of sun do tomatoes need?").answer


def test_titles_named_in_a_text_are_found_as_whole_words_longest_first_in_order() -> None:
    index = TitleIndex.build(
        {
            "lilu.txt": "Lilu (mythology)",
            "new-york.txt": "New York",
            "new-york-city.txt": "New York City",
            "york.txt": "York",
            "ab.txt": "Ab",  # too short to link anything
            "self.txt": "Harbour Lighthouse",
        }
    )
    text = "In New York City, Lilu is told of; Yorkshire is not York, nor is Ab. The Harbour Lighthouse."
    assert index.named_in(text, exclude={"self.txt"}) == ["new-york-city.txt", "lilu.txt", "york.txt"]
    assert index.named_in("New York and New York City", exclude=set()) == [
        "new-york.txt",
        "new-york-city.txt",
    ]
    assert index.named_in("newyork, yorkish", exclude=set()) == []


def test_titles_are_found_as_whole_words_longest_first_in_order_of_mention() -> None:
    titles = TitleIndex.build(
        {
            "foo.txt": "Foo Lake",
            "foo-bar.txt": "Foo Lake Bridge",
            "dot.txt": "Alder St.",
            "mara.txt": "Mara Quillon (director)",
            "lower.txt": "lowercase title",
        }
    )
    text = (
        "Mara Quillon crossed Foo Lake Bridge, then Foo Lakes, then Foo Lake. Alder St.Mary; lowercase title."
    )
    assert titles.named_in(text, exclude=set()) == ["mara.txt", "foo-bar.txt", "foo.txt", "dot.txt"]
    assert titles.named_in(text, exclude={"mara.txt"}) == ["foo-bar.txt", "foo.txt", "dot.txt"]
    assert titles.named_in("XFoo Lake and Foo Lake_x", exclude=set()) == []
