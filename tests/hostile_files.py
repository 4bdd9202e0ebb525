"""Hostile files built for the tests: small on disk, huge or slow once read."""

from __future__ import annotations

import io
import zipfile
import zlib

import docx
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject

# pypdf refuses to inflate one stream past 75,000,000 bytes.
PYPDF_INFLATE_LIMIT = 75_000_000


def inflating_pdf(inflated_bytes: int = PYPDF_INFLATE_LIMIT + 5_000_000) -> bytes:
    """A one-page PDF whose content stream is small compressed and inflates past pypdf's limit."""
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    stream = StreamObject()
    stream.set_data(b"")
    stream._data = zlib.compress(b" " * inflated_bytes, 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): font})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def many_page_pdf(pages: int) -> bytes:
    """A PDF of blank pages."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def expanding_docx(paragraph_xml: bytes, repeat: int) -> bytes:
    """A valid .docx whose body is one paragraph's XML repeated: deflate shrinks it to almost nothing."""
    template = io.BytesIO()
    docx.Document().save(template)
    out = io.BytesIO()
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                target.writestr(item, source.read(item))
                continue
            head, _, tail = source.read(item).partition(b"<w:body>")
            # Streamed, so the test never holds the expanded body in memory.
            with target.open(item.filename, "w", force_zip64=True) as body:
                body.write(head + b"<w:body>")
                block = paragraph_xml * 10_000
                for _ in range(repeat // 10_000):
                    body.write(block)
                body.write(paragraph_xml * (repeat % 10_000))
                body.write(b"</w:body>" + tail.split(b"</w:body>", 1)[-1])
    return out.getvalue()


def paragraph(text: str) -> bytes:
    """One Word paragraph of text, as document XML."""
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>".encode()
