"""How answers look to OpenAI-compatible clients: the sources list under the answer."""

from rag.models import Answer, Citation, Span
from server.openai_compat import sources

PDF_TEXT = "The reservoir cost 310\nmillion dollars. It opened in 2021."
FIRST = PDF_TEXT.index(".") + 1


def test_sources_quote_a_pdf_sentence_without_its_hard_line_breaks() -> None:
    citation = Citation(
        id=1,
        source="reservoir.pdf",
        title="Kestrel Ridge",
        text=PDF_TEXT,
        score=0.8,
        chunk_id="a-b-00000",
        start_char=0,
        end_char=len(PDF_TEXT),
        page=2,
        sentences=[Span(start=0, end=FIRST, text=PDF_TEXT[:FIRST])],
    )
    answer = Answer(
        answer="The reservoir cost 310 million dollars. [1]", citations=[citation], abstained=False
    )
    assert "“The reservoir cost 310 million dollars.”" in sources(answer)
    assert "reservoir.pdf, p. 2" in sources(answer)
