import re

from rag.answering import MAX_ANSWER_WORDS, NOT_FOUND
from rag.assistant import Assistant


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
