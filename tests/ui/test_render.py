"""What the chat shows, checked without a browser: escaping, highlighting, labels, wording."""

from ui import render


def citation(**overrides: object) -> dict:
    text = "Intro sentence here. The cat is named Biscuit. ![x](http://evil.example/p.png) <b>bold</b>"
    start = text.index("The cat")
    end = text.index("Biscuit.") + len("Biscuit.")
    quote = text.index("Biscuit")
    return {
        "id": 1,
        "source": "lighthouse.pdf",
        "title": "The <Harbour> Lighthouse",
        "text": text,
        "chunk_id": "abc-def-00002",
        "page": 2,
        "section": None,
        "sentences": [{"start": start, "end": end, "text": text[start:end]}],
        "quote": {"start": quote, "end": quote + 7, "text": "Biscuit"},
    } | overrides


def test_quoted_sentence_is_marked_and_the_exact_answer_emphasised() -> None:
    card = render.citation_html(citation(), "x1")
    assert "<mark>The cat is named </mark><mark><strong>Biscuit</strong></mark><mark>.</mark>" in card
    assert 'id="x1-cite-1"' in card


def test_document_markup_stays_text() -> None:
    card = render.citation_html(citation(), "x1")
    assert "<b>" not in card and "&lt;b&gt;bold&lt;/b&gt;" in card
    assert "<img" not in card and "![x](http://evil.example/p.png)" in card
    assert "The &lt;Harbour&gt; Lighthouse" in card
    answer = render.answer_html("See ![x](http://evil.example/p.png) <script>x</script> [1]", "x1", {1})
    assert "<script>" not in answer and "<img" not in answer


def test_markers_link_to_their_cards_and_unknown_markers_stay_text() -> None:
    answer = render.answer_html("Biscuit. [1] Also [7]", "x9", {1})
    assert '<a class="qa-ref" href="#x9-cite-1"' in answer and "Also [7]" in answer


def test_location_tells_two_passages_of_one_file_apart() -> None:
    first = render.location(citation(chunk_id="a-b-00000", page=1))
    second = render.location(citation(chunk_id="a-b-00003", page=1))
    assert first == "lighthouse.pdf · page 1 · passage 1" and second == "lighthouse.pdf · page 1 · passage 4"
    assert "section “Roses”" in render.location(citation(page=None, section="Roses"))


def test_long_passage_shows_an_excerpt_around_the_quote_and_the_whole_on_demand() -> None:
    text = "filler words " * 100 + "The fact is here." + " more words" * 100
    start = text.index("The fact")
    c = citation(
        text=text, sentences=[{"start": start, "end": start + 17, "text": "The fact is here."}], quote=None
    )
    card = render.citation_html(c, "x1")
    excerpt, whole = card.split("</summary>")
    assert "<mark>The fact is here.</mark>" in excerpt and excerpt.count("filler") < 40
    assert "Show the whole passage" in excerpt
    # Opened, the whole passage replaces the excerpt (CSS hides the summary's copy): nothing twice.
    assert (
        whole.count("filler") == 100
        and "details[open] summary .qa-passage { display: none; }" in render.STYLE
    )


def test_passage_without_known_sentences_is_shown_unmarked() -> None:
    card = render.citation_html(citation(sentences=[], quote=None), "x1")
    assert "<mark>" not in card and "Biscuit" in card


def test_human_wording() -> None:
    assert render.plural(1, "document") == "1 document" and render.plural(2, "document") == "2 documents"
    assert render.human_time("2026-11-26T14:05:09+00:00") == "26 Nov 2026, 14:05 UTC"
    assert render.human_size(50_000_000) == "50 MB"
    assert render.example_questions(["Garden handbook", "Garden handbook", " "]) == [
        "What does “Garden handbook” say?"
    ]
    assert render.human_duration(42) == "42 s" and render.human_duration(3900) == "1 h 05 min"


def test_one_example_question_per_document_up_to_a_maximum() -> None:
    assert len(render.example_questions(["Owls", "Bees", "Cats", "Dogs"])) == 4
    many = [f"Topic {i}" for i in range(9)]
    assert len(render.example_questions(many)) == render.MAX_EXAMPLE_QUESTIONS == 5


def test_markdown_headings_in_a_card_lose_their_marks_and_show_in_bold() -> None:
    text = "# Garden handbook\n\n## Tomatoes ##\n\nTomatoes need sun. Not a #heading here."
    start = text.index("Tomatoes need")
    sentences = [{"start": start, "end": len(text), "text": text[start:]}]
    card = render.citation_html(citation(source="garden.md", text=text, sentences=sentences, quote=None), "x")
    assert "#" not in card.replace("#heading", "").replace('href="#', "")
    assert '<span class="qa-heading">Garden handbook</span>' in card
    assert '<span class="qa-heading">Tomatoes</span>\n\n<mark>Tomatoes need sun.' in card
    plain_text = render.citation_html(
        citation(source="notes.txt", text=text, sentences=sentences, quote=None), "x"
    )
    assert "# Garden handbook" in plain_text and "qa-heading" not in plain_text


def test_a_running_job_in_words() -> None:
    job = {"documents_total": None, "documents_done": 0, "chunks_done": 0, "chunks_per_second": 0.0}
    assert render.job_progress(job) == (0.0, "Comparing the corpus folder with the store…")
    job |= {"documents_total": 40, "documents_done": 10, "chunks_done": 1200, "chunks_per_second": 12.5}
    assert render.job_progress(job | {"eta_seconds": None}) == (
        0.25,
        "10 of 40 documents · 1,200 passages written (12.5 a second) · estimating the time left",
    )
    assert render.job_progress(job | {"eta_seconds": 150})[1].endswith("about 2 min left")


def test_a_long_pdf_moves_the_job_bar_page_by_page() -> None:
    job = {"documents_total": 2, "documents_done": 0, "chunks_done": 512, "chunks_per_second": 6.0}
    job |= {"eta_seconds": 600, "current_document": "long.pdf", "pages_done": 6000, "pages_total": 20000}
    fraction, words = render.job_progress(job | {"pages_embedded": 5000})
    assert fraction == 0.125  # the pages embedded: reading runs ahead
    assert words.endswith("about 10 min left · long.pdf: page 6,000 of 20,000 read")


def test_refusals_never_show_an_http_status() -> None:
    for status in (401, 413, 415, 422, 429, 500, 503):
        message = render.failure_message(status, "file is 60,000,000 bytes; the limit is 50,000,000")
        assert str(status) not in message
    assert render.failure_message(422, "question is empty") == "Question is empty."


def test_labels_made_from_documents_render_no_markdown() -> None:
    assert render.plain("![x](http://evil.example/p.png) :smile: a_b") == (
        "\\!\\[x\\]\\(http\\://evil\\.example/p\\.png\\) \\:smile\\: a\\_b"
    )
