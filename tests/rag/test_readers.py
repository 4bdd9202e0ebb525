"""Every format and every kind of bad input, with real files on disk."""

import codecs
import io
import time
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from rag.assistant import Assistant
from rag.documents import open_document, read_document
from rag.errors import DocumentTooLarge, UnreadableDocument
from rag.readers import ReadLimits
from tests.conftest import ingest_into, make_pdf
from tests.hostile_files import expanding_docx, inflating_pdf, many_page_pdf, paragraph

LIMIT = 1_000_000


def make_docx(title: str, paragraphs: list[str]) -> bytes:
    document = docx.Document()
    document.add_heading(title, level=1)
    for p in paragraphs:
        document.add_paragraph(p)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_pdf_text_and_page_numbers_reach_the_citations(assistant: Assistant, tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    pages = [
        "Glaciers. Glaciers cover about ten percent of the land on Earth. " * 3,
        "The Aletsch Glacier is the largest glacier in the Alps, at 23 kilometres long.",
    ]
    (corpus / "ice.pdf").write_bytes(make_pdf(pages, title="Ice of the World"))
    report = ingest_into(assistant, corpus)
    assert report.added == ["ice.pdf"]
    answer = assistant.ask("What is the largest glacier in the Alps?")
    assert "Aletsch" in answer.answer
    assert answer.citations[0].title == "Ice of the World"
    assert answer.citations[0].page in (1, 2)
    pages_seen = {c.page for c in assistant.store.all_chunks()}
    assert pages_seen <= {1, 2} and pages_seen


def test_docx_text_and_heading_title(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    path.write_bytes(make_docx("Quarterly Report", ["Revenue grew by 12 percent.", "Costs fell."]))
    document = read_document(path, tmp_path, LIMIT)
    assert document.title == "Quarterly Report"
    assert "Revenue grew by 12 percent." in document.text


def test_html_text_without_scripts_and_with_its_title(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Tea Guide</title><script>var x = 'secret';</script></head>"
        "<body><h1>Green tea</h1><p>Steep green tea at 80 degrees.</p><p>Black tea takes boiling water.</p>"
        "</body></html>"
    )
    document = read_document(path, tmp_path, LIMIT)
    assert document.title == "Tea Guide"
    assert "Steep green tea at 80 degrees." in document.text and "secret" not in document.text
    assert "Green tea\n\nSteep" in document.text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n ", "empty file"),
        ("image.txt", bytes(range(256)) * 4, "binary content"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj <<\n garbage", "corrupt PDF"),
        ("photo.pdf", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not a PDF"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "corrupt Word file"),
    ],
)
def test_bad_file_is_refused_with_a_clear_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableDocument, match=reason):
        read_document(path, tmp_path, LIMIT)


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Top secret plans."]))))
    writer.encrypt("password")
    out = io.BytesIO()
    writer.write(out)
    path = tmp_path / "secret.pdf"
    path.write_bytes(out.getvalue())
    with pytest.raises(UnreadableDocument, match="encrypted PDF"):
        read_document(path, tmp_path, LIMIT)


def test_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(UnreadableDocument, match="the limit is 100"):
        read_document(path, tmp_path, max_bytes=100)


def test_a_run_with_every_kind_of_bad_file_reports_each_and_keeps_the_store(
    assistant: Assistant, tmp_path: Path
) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "good.md").write_text("# Rivers\n\nThe Danube flows through ten countries.")
    ingest_into(assistant, corpus)
    outside = tmp_path / "outside.txt"
    outside.write_text("Private data outside the corpus.")
    (corpus / "link.txt").symlink_to(outside)
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.md").write_bytes(b"\x00\xff\x00\xfe" * 100)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    (corpus / "latin.txt").write_bytes("Crème brûlée à la française, très appréciée à Noël.".encode("cp1252"))
    (corpus / "table.xlsx").write_bytes(b"PK")
    (corpus / "new.txt").write_text("Lakes\n\nLake Baikal is the deepest lake in the world.")
    report = ingest_into(assistant, corpus)
    assert report.failed.keys() == {"link.txt", "empty.txt", "binary.md", "broken.pdf"}
    assert "outside the corpus" in report.failed["link.txt"]
    assert report.skipped == {"table.xlsx": "unsupported file type .xlsx"}
    assert "not valid UTF-8" in report.notes["latin.txt"]
    assert sorted(report.added) == ["latin.txt", "new.txt"] and report.unchanged == ["good.md"]
    assert "Danube" in assistant.ask("How many countries does the Danube flow through?").answer
    assert all("Private data" not in c.text for c in assistant.store.all_chunks())


def test_pdf_stream_inflating_past_pypdfs_limit_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pdf"
    path.write_bytes(inflating_pdf())
    assert path.stat().st_size < 100_000
    with pytest.raises(UnreadableDocument, match="PDF stream too large"):
        read_document(path, tmp_path, LIMIT)


def test_pdf_over_the_page_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pages.pdf"
    path.write_bytes(many_page_pdf(1001))
    with pytest.raises(DocumentTooLarge, match="1,001 pages; the limit is 1,000"):
        read_document(path, tmp_path, 10_000_000, ReadLimits(max_pages=1000))


def test_pdf_read_time_counts_parsing_only_not_the_work_between_pages(tmp_path: Path) -> None:
    path = tmp_path / "slow.pdf"
    path.write_bytes(make_pdf([f"Page {n} of a report on the harbour." for n in range(1, 6)]))
    opened = open_document(path, tmp_path, LIMIT, ReadLimits(max_seconds=0.5))
    for _ in opened.pages:
        time.sleep(0.2)  # e.g. embedding what was read: 1 s in all, yet the file reads in time
    with pytest.raises(DocumentTooLarge, match="MAX_READ_SECONDS"):
        list(open_document(path, tmp_path, LIMIT, ReadLimits(max_seconds=1e-6)).pages)


def test_tiny_docx_expanding_to_huge_xml_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    path.write_bytes(expanding_docx(paragraph("x" * 1000), 30_000))  # 30 MB of XML
    assert path.stat().st_size < 200_000
    started = time.monotonic()
    with pytest.raises(DocumentTooLarge, match="bytes of XML"):
        read_document(path, tmp_path, LIMIT, ReadLimits(max_chars=1_000_000))
    assert time.monotonic() - started < 1


def test_docx_whose_text_is_over_the_character_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.docx"
    path.write_bytes(expanding_docx(paragraph("word " * 20), 2000))  # 200,000 characters
    with pytest.raises(DocumentTooLarge, match="over 100,000 characters"):
        read_document(path, tmp_path, LIMIT, ReadLimits(max_chars=100_000))
    assert len(read_document(path, tmp_path, LIMIT).text) > 100_000  # within the defaults


def test_text_over_the_character_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("word " * 1000)
    with pytest.raises(DocumentTooLarge, match="MAX_DOCUMENT_CHARS"):
        read_document(path, tmp_path, LIMIT, ReadLimits(max_chars=1000))


def test_docx_that_takes_too_long_to_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "slow.docx"
    path.write_bytes(expanding_docx(b"<w:p/>", 300_000))  # tiny, but 300,000 paragraphs
    started = time.monotonic()
    with pytest.raises(DocumentTooLarge, match=r"reading took over 0\.2 s"):
        read_document(path, tmp_path, LIMIT, ReadLimits(max_seconds=0.2))
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_text_with_a_byte_order_mark_is_decoded(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "notes.txt"
    text = "Crème brûlée\n\nThe custard is baked at 150 degrees."
    bom = {"utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    path.write_bytes(bom + text.encode(encoding))
    document = read_document(path, tmp_path, LIMIT)
    assert document.text == text and document.title == "Crème brûlée"
