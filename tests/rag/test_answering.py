import re

from rag.answering import MAX_ANSWER_WORDS, NOT_FOUND, locate
from rag.assistant import Assistant
from rag.models import Citation, SearchHit, Span
from tests.conftest import ingest_into


def markers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def test_answer_quotes_sentences_verbatim_from_the_passages_it_cites(corpus_assistant: Assistant) -> None:
    answer = corpus_assistant.ask("What military supplies does North Korea already provide to Russia?")
    assert not answer.abstained
    by_id = {c.id: c for c in answer.citations}
    for sentence, n in re.findall(r"(.+?) \[(\d+)\]\s*", answer.answer):
        assert sentence.strip() in by_id[int(n)].text


def test_every_marker_has_a_citation_and_every_citation_is_used(corpus_assistant: Assistant) -> None:
    for question in ("Which countries make up the authoritarian quad?", "Where could the troops be used?"):
        answer = corpus_assistant.ask(question)
        assert markers(answer.answer) == {c.id for c in answer.citations}
        assert [c.id for c in answer.citations] == list(range(1, len(answer.citations) + 1))


def test_answer_is_short(corpus_assistant: Assistant) -> None:
    answer = corpus_assistant.ask("What is the mission of the North Koreans?")
    assert len(re.sub(r"\[\d+\]", "", answer.answer).split()) <= MAX_ANSWER_WORDS
    assert answer.answer.count("[") <= corpus_assistant.settings.answer_sentences


def test_off_topic_question_abstains_with_no_citations(corpus_assistant: Assistant) -> None:
    answer = corpus_assistant.ask("How do I bake sourdough bread?")
    assert answer.abstained and answer.citations == [] and answer.answer == NOT_FOUND


def test_pdf_citation_gives_the_page_of_the_quoted_sentence_not_of_the_passage_start(
    assistant: Assistant, paged_corpus
) -> None:
    ingest_into(assistant, paged_corpus)
    answer = assistant.ask("What is the name of the keeper's cat?")
    citation = answer.citations[0]
    assert citation.source == "lighthouse.pdf" and "Biscuit" in answer.answer
    assert citation.start_char == 0  # the passage starts on page 1 ...
    assert citation.page == 2  # ... and the quoted sentence is on page 2
    first = citation.sentences[0]
    assert citation.text[first.start : first.end] == first.text and "Biscuit" in first.text


def test_markdown_citation_names_the_section_of_the_quoted_sentence(
    assistant: Assistant, paged_corpus
) -> None:
    ingest_into(assistant, paged_corpus)
    answer = assistant.ask("When are roses pruned?")
    citation = answer.citations[0]
    assert citation.source == "garden.md" and citation.page is None
    assert citation.section == "Roses"


def test_search_gives_the_page_of_the_best_sentence_as_ask_does(assistant: Assistant, paged_corpus) -> None:
    ingest_into(assistant, paged_corpus)
    [best, *_] = assistant.search("What is the name of the keeper's cat?")
    hit = SearchHit.from_passage(1, best)
    assert hit.source == "lighthouse.pdf" and hit.start_char == 0 and hit.page == 2


def test_the_answer_span_is_a_whole_word_not_the_start_of_a_longer_one() -> None:
    text = "A burden for the Russians and a part of Russian\nground formations, Russian-led."
    span = locate(text, 0, len(text), "Russian ground")
    assert span is not None and span.text == "Russian\nground"  # the line break is kept in place
    first = locate(text, 0, len(text), "Russian")
    assert first is not None and text[first.start : first.end + 1] == "Russian\n"
    second = locate(text, 0, len(text), "Russian", nth=1)
    assert second is not None and text[second.start : second.end + 4] == "Russian-led"
    assert locate(text, 0, len(text), "Russian", nth=2) is None


def test_the_quote_marks_the_answer_where_the_sentence_holds_it(corpus_assistant: Assistant) -> None:
    answer = corpus_assistant.ask("Where might the North Korean soldiers end up being sent?")
    assert any(c.quote is not None for c in answer.citations)
    for citation in answer.citations:
        if citation.quote is not None:
            q = citation.quote
            assert citation.text[q.start : q.end] == q.text
            before, after = citation.text[q.start - 1 : q.start], citation.text[q.end : q.end + 1]
            assert not before.isalnum() and not after.isalnum()


def test_a_citation_names_the_section_of_the_sentence_the_answer_leads_with(
    assistant: Assistant, tmp_path
) -> None:
    (tmp_path / "compost.md").write_text(
        "# Compost rules\n\nThe allotment runs three compost bays. Finished compost is free for all plot "
        "holders.\n\n## What goes in\n\nVegetable peelings, grass cuttings and cardboard.\n\n"
        "## What never goes in\n\nCooked food and meat must never go in the compost, because they "
        "attract rats.\n"
    )
    ingest_into(assistant, tmp_path)
    answer = assistant.ask("Can leftover stew go in the compost?")
    assert answer.answer.startswith("Cooked food and meat must never go in the compost")
    assert answer.citations[0].section == "What never goes in"
    # Were an earlier section's sentence quoted after the lead, the section would still be the lead's.
    passage = assistant.retrieve("Can leftover stew go in the compost?", None, 5).passages[0]
    lead, earlier = answer.citations[0].sentences[0], Span(start=17, end=55, text=passage.chunk.text[17:55])
    assert Citation.of(1, passage, [lead, earlier]).section == "What never goes in"
    assert Citation.of(1, passage, [earlier, lead]).section == "Compost rules"


def test_a_contact_question_gets_the_contact_detail_or_an_honest_not_found(
    assistant: Assistant, tmp_path
) -> None:
    (tmp_path / "club.md").write_text(
        "# Riverside Rowing Club\n\n## Boathouse\n\nGate code: 4471\n\nThe club's oldest boat was built in "
        "1931 and still races every summer.\n\n## Contact\n\nThe secretary answers the club phone on weekday "
        "evenings: 0161 496 0732.\n"
    )
    (tmp_path / "pottery.md").write_text(
        "# Bramblewick Pottery\n\nThe pottery sells glazes and clay, and ships orders within two days.\n"
    )
    ingest_into(assistant, tmp_path)
    assert "0161 496 0732" in assistant.ask("How do I reach the club by phone?").answer
    # A code is a number but no way to get in touch: a question for an address the club never gives abstains.
    assert assistant.ask("What is the rowing club's email address?").abstained
    assert assistant.ask("What's the rowing club's fax number?").abstained  # a phone number is no fax
    assert assistant.ask("What's the pottery's phone number?").abstained  # nor the club's the pottery's
