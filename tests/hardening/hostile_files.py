"""Hostile files built in the test run: a zip-bomb .docx, a PDF with a huge content stream, deeply nested HTML."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


def zip_bomb_docx(megabytes: int = 200) -> bytes:
    """A real .docx whose document.xml inflates to ``megabytes`` MB of paragraphs (a few hundred KB packed)."""
    original = zipfile.ZipFile(FIXTURES / "autoscaling-runbook.docx")
    paragraph = b"<w:p><w:r><w:t>" + b"lorem ipsum " * 40 + b"</w:t></w:r></w:p>"
    body = paragraph * (megabytes * 1024 * 1024 // len(paragraph))
    document = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        + body
        + b"</w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for item in original.infolist():
            data = document if item.filename == "word/document.xml" else original.read(item.filename)
            bomb.writestr(item.filename, data)
    return out.getvalue()


def pdf_with_huge_content_stream(megabytes: int = 10) -> bytes:
    """A one-page PDF whose (compressed) content stream decodes to ``megabytes`` MB of text operators."""
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    operator = b"BT /F1 12 Tf 72 720 Td (aaaaaaaaaaaaaaaaaaaa) Tj ET\n"
    stream = DecodedStreamObject()
    stream.set_data(operator * (megabytes * 1024 * 1024 // len(operator)))
    page[NameObject("/Contents")] = writer._add_object(stream.flate_encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def nested_html(depth: int = 50_000) -> bytes:
    """An HTML page with ``depth`` nested elements."""
    return b"<html><body>" + b"<div>" * depth + b"deep text" + b"</div>" * depth + b"</body></html>"
