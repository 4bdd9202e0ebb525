import itertools

from llama_index.core.utils import get_tokenizer

from rag.chunking import chunk_document, split_sentences
from rag.models import Document
from tests.conftest import CORPUS


def corpus_document() -> Document:
    text = (CORPUS / "north-korean-troops-to-russia.txt").read_text()
    return Document(source="nk.txt", title="NK", text=text, content_hash="f" * 64)


def test_chunk_offsets_point_back_into_the_source_text() -> None:
    document = corpus_document()
    for chunk in chunk_document(document, chunk_size=64, chunk_overlap=16):
        assert document.text[chunk.start_char : chunk.end_char] == chunk.text


def test_chunks_stay_within_the_token_budget_and_overlap() -> None:
    chunks = chunk_document(corpus_document(), chunk_size=64, chunk_overlap=16)
    tokenize = get_tokenizer()
    assert len(chunks) > 3
    assert all(len(tokenize(c.text)) <= 64 for c in chunks)
    assert any(later.start_char < earlier.end_char for earlier, later in itertools.pairwise(chunks))


def test_chunk_ids_are_stable_and_unique() -> None:
    first = chunk_document(corpus_document(), chunk_size=64, chunk_overlap=16)
    again = chunk_document(corpus_document(), chunk_size=64, chunk_overlap=16)
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)


def test_chunks_end_on_sentence_boundaries_where_possible() -> None:
    chunks = chunk_document(corpus_document(), chunk_size=64, chunk_overlap=16)
    assert sum(c.text.rstrip().endswith((".", "?", "!", "”", '"')) for c in chunks) >= len(chunks) - 1


def test_sentences_break_at_full_stops_and_paragraphs_with_exact_offsets() -> None:
    text = "Title line\n\nFirst sentence here. Second one, Mr. Smith said.\nA list:\n- item one\n- item two"
    sentences = split_sentences(text)
    assert [s.text for s in sentences][:3] == [
        "Title line",
        "First sentence here.",
        "Second one, Mr. Smith said.",
    ]
    assert "- item two" in [s.text for s in sentences]
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_markdown_image_syntax_does_not_end_a_sentence() -> None:
    text = "The diagram ![the reactor core](http://example.org/core.png) shows the loop. It is big! Really."
    assert [s.text for s in split_sentences(text)] == [
        "The diagram ![the reactor core](http://example.org/core.png) shows the loop.",
        "It is big!",
        "Really.",
    ]


def test_a_heading_line_right_above_its_paragraph_is_a_sentence_of_its_own() -> None:
    text = (
        "Findings\nDuring the October inspection the foghorn was fixed.\n"
        "The report was written by\nMara Quillon."
    )
    assert [s.text for s in split_sentences(text)] == [
        "Findings",
        "During the October inspection the foghorn was fixed.",
        "The report was written by\nMara Quillon.",
    ]
