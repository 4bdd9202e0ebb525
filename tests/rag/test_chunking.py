import itertools
from collections.abc import Iterator

from llama_index.core.utils import get_tokenizer

from rag.chunking import WINDOW_CHARS, chunk_document, chunk_stream, split_sentences
from rag.models import PAGE_SEPARATOR, Document, DocumentStream
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


def long_stream(pages: list[str], pulled: list[int]) -> DocumentStream:
    def read() -> Iterator[str]:
        for page in pages:
            pulled.append(1)
            yield page

    return DocumentStream("long.pdf", "Long", "e" * 64, read(), paged=True, page_count=len(pages))


def numbered_pages(count: int) -> list[str]:
    return [
        " ".join(f"Page {n} tells fact {k} about the harbour of town {n * 7 + k}." for k in range(6))
        for n in range(1, count + 1)
    ]


def test_a_long_document_is_chunked_as_its_pages_are_read_with_its_own_offsets_and_pages() -> None:
    pages = numbered_pages(1000)  # about 320,000 characters: three windows and more
    pulled: list[int] = []
    chunks = chunk_stream(long_stream(pages, pulled), chunk_size=64, chunk_overlap=16)
    first = next(chunks)
    # The first chunks come once a window's worth of pages is read, not the whole document.
    assert sum(len(p) for p in pages[: len(pulled) - 1]) < WINDOW_CHARS < len(PAGE_SEPARATOR.join(pages)) / 3
    whole = [first, *chunks]
    text = PAGE_SEPARATOR.join(pages)
    assert [c.index for c in whole] == list(range(len(whole)))
    assert len({c.id for c in whole}) == len(whole)
    for chunk in whole:
        assert text[chunk.start_char : chunk.end_char] == chunk.text
        page = (
            int(chunk.text.split("Page ", 1)[1].split(" ", 1)[0]) if chunk.text.startswith("Page ") else None
        )
        if page is not None:
            assert chunk.page == page
    # Nothing is lost or repeated at the windows' edges: the chunks cover the text in order.
    assert whole[0].start_char == 0 and whole[-1].end_char == len(text)
    for a, b in itertools.pairwise(whole):
        assert a.start_char < b.start_char and not text[a.end_char : b.start_char].strip()


def test_a_document_read_whole_chunks_as_its_pages_do() -> None:
    pages = numbered_pages(40)
    text = PAGE_SEPARATOR.join(pages)
    starts = tuple(itertools.accumulate([0] + [len(p) + len(PAGE_SEPARATOR) for p in pages[:-1]]))
    whole = Document("long.pdf", "Long", text, "e" * 64, page_starts=starts)
    streamed = list(chunk_stream(long_stream(pages, []), chunk_size=64, chunk_overlap=16))
    assert chunk_document(whole, chunk_size=64, chunk_overlap=16) == streamed
    assert {c.page for c in streamed} == set(range(1, 41))


def test_a_heading_in_sentence_case_after_a_sentence_is_a_sentence_of_its_own() -> None:
    text = (
        "The lighthouse stands on the cape.\nClimbing the tower\nGuided climbs leave every hour.\n"
        "The lens was made in\nSweden by Oskarsson. It was lit\nEvery night since."
    )
    assert [s.text for s in split_sentences(text)] == [
        "The lighthouse stands on the cape.",
        "Climbing the tower",  # a PDF's heading, not the start of the next sentence
        "Guided climbs leave every hour.",
        "The lens was made in\nSweden by Oskarsson.",  # a line of prose that wraps
        "It was lit\nEvery night since.",
    ]


def test_table_rows_and_label_value_lines_are_sentences_of_their_own() -> None:
    text = (
        "Welcome to the cabin.\nWi-Fi password: bluefish42\nCheck-in: from 4 pm\nThe store is near.\n\n"
        "| Expense | Limit |\n|---|---|\n| Hotel per night | 140 euros |\n| Dinner | 35 euros |\n"
    )
    sentences = [s.text for s in split_sentences(text)]
    assert sentences == [
        "Welcome to the cabin.",
        "Wi-Fi password: bluefish42",
        "Check-in: from 4 pm",
        "The store is near.",
        "| Expense | Limit |",
        "|---|---|",
        "| Hotel per night | 140 euros |",
        "| Dinner | 35 euros |",
    ]


def test_a_wrapped_line_of_prose_that_starts_with_a_label_stays_whole() -> None:
    text = "Warning: do not open the valve while the\npump is running. Then wait."
    assert [s.text for s in split_sentences(text)] == [
        "Warning: do not open the valve while the\npump is running.",
        "Then wait.",
    ]
