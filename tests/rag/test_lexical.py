import os
import time
from pathlib import Path

from rag.lexical import ABANDONED_SAVE_S, LexicalIndex, cached_index, question_terms, terms
from rag.models import Chunk
from tests.conftest import make_chunk


def chunks() -> list[Chunk]:
    return [make_chunk("Mount Etna is an active volcano.", "a.txt", "Etna")]


def test_a_save_left_by_a_dead_process_is_removed_and_one_being_written_is_kept(tmp_path: Path) -> None:
    abandoned, writing, old_version = tmp_path / ".v1.dead", tmp_path / ".v2.live", tmp_path / "v0"
    for folder in (abandoned, writing, old_version):
        folder.mkdir()
    long_ago = time.time() - ABANDONED_SAVE_S - 60
    os.utime(abandoned, (long_ago, long_ago))

    index = cached_index(tmp_path, "v2", chunks)

    assert index.search("volcano", 1)[0][0] == "a#0"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".v2.live", "v2"]


def test_a_question_word_is_not_what_a_question_is_about() -> None:
    assert question_terms("And where is it?") == []
    assert question_terms("Why was the mill closed?") == ["mill", "close"]
    assert "where" in terms("except where a section says otherwise")  # documents keep the word


def test_search_does_not_match_a_document_on_the_question_word_alone() -> None:
    chunk = make_chunk(
        "The rules cover all supplies, except where a section says otherwise.", "b.txt", "Rules"
    )
    index = LexicalIndex.build([*chunks(), chunk])
    assert index.search("and where?", 5) == []
    assert [cid for cid, _ in index.search("where is the volcano?", 5)] == ["a#0"]
