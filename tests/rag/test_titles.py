"""Titles from metadata, from a first line that reads as a title, and from the file name only as a last
resort; read from real files."""

import io
from pathlib import Path

import docx
import pytest

from rag.assistant import Assistant
from rag.documents import read_document
from tests.conftest import ingest_into, make_pdf

LIMIT = 1_000_000
ABSTRACT = (
    "Alterations of the architecture of cerebral white matter in the developing human brain can affect "
    "cortical development. A line scan diffusion-weighted magnetic resonance imaging sequence was applied "
    "to measure the apparent diffusion coefficient in preterm and full-term infants. Relative anisotropy "
    "was higher the closer birth was to term."
)
PAPER_TITLE = (
    "Microstructural development of human newborn cerebral white matter assessed in vivo by diffusion "
    "tensor magnetic resonance imaging."
)


def title_of(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return read_document(path, tmp_path, LIMIT).title


@pytest.mark.parametrize("separator", ["\n\n", "\n"])
def test_a_paper_title_ending_with_a_full_stop_is_the_title_of_the_abstract_below_it(
    tmp_path: Path, separator: str
) -> None:
    assert len(PAPER_TITLE) > 120  # longer than the old limit, and it ends with a full stop
    assert title_of(tmp_path, "4983.txt", PAPER_TITLE + separator + ABSTRACT) == PAPER_TITLE


def test_a_two_sentence_title_is_still_a_title(tmp_path: Path) -> None:
    title = "Evidence into practice. Application of psychological models of change in implementation."
    assert title_of(tmp_path, "1.txt", f"{title}\n\n{ABSTRACT}") == title


def test_a_title_line_right_above_a_hard_wrapped_paragraph_is_the_title(tmp_path: Path) -> None:
    text = (
        "Distinct roles of p53 in ageing\n"
        "Alterations of the architecture of cerebral white matter in\n"
        "the developing human brain can affect cortical development.\n"
    )
    assert title_of(tmp_path, "p53.txt", text) == "Distinct roles of p53 in ageing"


def test_the_first_line_of_a_hard_wrapped_paragraph_is_not_a_title(tmp_path: Path) -> None:
    text = (
        "In the past 24 hours the administration has verified that the troops are\n"
        "deploying to the front, with the possibility of them fighting in the war.\n"
        "Sources have reported that at least 1500 troops are part of it.\n"
    )
    assert title_of(tmp_path, "troops-report.txt", text) == "Troops Report"


def test_a_first_paragraph_is_not_taken_for_a_title(tmp_path: Path) -> None:
    assert title_of(tmp_path, "field-notes.txt", f"{ABSTRACT}\n\n{ABSTRACT}") == "Field Notes"


def test_a_sentence_over_less_text_than_itself_is_not_a_title(tmp_path: Path) -> None:
    text = "The meeting moved to Thursday because the hall was booked on Wednesday.\n\nBring snacks."
    assert title_of(tmp_path, "meeting.txt", text) == "Meeting"


@pytest.mark.parametrize("first", ["Corresponding author:", "Ingredients,", "1998"])
def test_a_first_line_that_runs_on_or_has_no_words_is_not_a_title(tmp_path: Path, first: str) -> None:
    assert title_of(tmp_path, "my-notes_2024.txt", f"{first}\n\n{ABSTRACT}") == "My Notes 2024"


def test_a_one_line_file_is_titled_by_its_name(tmp_path: Path) -> None:
    assert title_of(tmp_path, "todo.txt", "Buy milk") == "Todo"


def test_markdown_title_comes_from_front_matter_then_the_first_heading_outside_code(tmp_path: Path) -> None:
    front = "---\ntitle: 'Field Guide'\nauthor: Ann\n---\n\n# Owls\n\nOwls hunt at night."
    assert title_of(tmp_path, "a.md", front) == "Field Guide"
    fenced = "Intro line here\n\n```sh\n# install it\nmake\n```\n\n## Owls\n\nOwls hunt.\n\n# Birds\n\nText."
    assert title_of(tmp_path, "b.md", fenced) == "Birds"
    assert title_of(tmp_path, "c.md", "intro\n\n## Real Title\n\nBody text.") == "Real Title"


def test_a_pdf_title_comes_from_its_metadata(tmp_path: Path) -> None:
    pdf = make_pdf(["Glaciers cover about ten percent of the land on Earth."], title="Ice of the World")
    assert title_of(tmp_path, "ice.pdf", pdf) == "Ice of the World"


@pytest.mark.parametrize("placeholder", [None, "Microsoft Word - draft7.docx", "untitled", "paper.tex"])
def test_a_pdf_without_a_real_metadata_title_takes_its_first_line(
    tmp_path: Path, placeholder: str | None
) -> None:
    pdf = make_pdf([f"Glaciers of the Alps\n\n{ABSTRACT}"], title=placeholder)
    assert title_of(tmp_path, "scan-0042.pdf", pdf) == "Glaciers of the Alps"


def test_a_docx_title_comes_from_its_core_properties(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "Annual Report 2024"
    document.add_paragraph("Revenue grew by 12 percent over the year, driven by exports.")
    out = io.BytesIO()
    document.save(out)
    assert title_of(tmp_path, "report.docx", out.getvalue()) == "Annual Report 2024"


def test_html_without_a_title_element_takes_its_h1(tmp_path: Path) -> None:
    html = "<html><body><h1>Green tea</h1><p>Steep green tea at 80 degrees for two minutes.</p></body></html>"
    assert title_of(tmp_path, "page.html", html) == "Green tea"


def test_the_title_line_stays_in_the_text_is_cited_as_the_title_and_never_quoted_as_the_answer(
    assistant: Assistant, tmp_path: Path
) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "4983.txt").write_text(f"{PAPER_TITLE}\n\n{ABSTRACT}\n")
    ingest_into(assistant, corpus)
    [first] = [c for c in assistant.store.all_chunks() if c.index == 0]
    assert first.title == PAPER_TITLE and first.start_char == 0 and first.text.startswith(PAPER_TITLE)
    answer = assistant.ask("What was measured in preterm and full-term infants with diffusion imaging?")
    citation = answer.citations[0]
    assert citation.title == PAPER_TITLE and citation.source == "4983.txt"
    assert "apparent diffusion coefficient" in answer.answer and PAPER_TITLE not in answer.answer
    assert all(s.start >= len(PAPER_TITLE) for s in citation.sentences)
