"""PDF files with pypdf: one section per page; encrypted, damaged and image-only PDFs are rejected clearly."""

from __future__ import annotations

import io
import logging
import re

from editorial.ingest.errors import SourceRejected
from editorial.ingest.parsers.base import ParsedDocument, Section
from editorial.ingest.parsers.limits import ParseLimits

_SPACES = re.compile(r"[ \t\u00a0]+")


def _page_text(raw: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in raw.replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _content_bytes(page) -> int:
    """The decoded size of a page's content streams (what text extraction would have to interpret)."""
    contents = page.get_contents()
    return len(contents.get_data()) if contents is not None else 0


def parse_pdf(data: bytes, limits: ParseLimits | None = None) -> ParsedDocument:
    """Parse a PDF into per-page sections (``location="page N"``)."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    if not data.lstrip()[:1024].startswith(b"%PDF-"):
        raise SourceRejected("The file has a .pdf name but is not a PDF document.")
    if data.rfind(b"%%EOF", max(0, len(data) - 65536)) == -1:
        raise SourceRejected("The PDF is damaged or truncated (it has no end-of-file marker); export it again.")
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                try:
                    opened = reader.decrypt("")
                except (DependencyError, NotImplementedError) as exc:
                    raise SourceRejected(
                        "The PDF is encrypted in a way that cannot be opened here; save a copy without protection."
                    ) from exc
                if not opened:
                    raise SourceRejected("The PDF is password-protected; remove the password and upload it again.")
            limits = limits or ParseLimits()
            pages = list(reader.pages)
            if len(pages) > limits.max_pages:
                raise SourceRejected(
                    f"The PDF has {len(pages):,} pages, over the limit of {limits.max_pages:,}; split it."
                )
            texts, oversized = [], []
            for number, page in enumerate(pages, 1):
                if _content_bytes(page) > limits.max_page_content_bytes:
                    oversized.append(number)
                    texts.append("")
                    continue
                texts.append(_page_text(page.extract_text() or ""))
        except SourceRejected:
            raise
        except FileNotDecryptedError as exc:
            raise SourceRejected("The PDF is password-protected; remove the password and upload it again.") from exc
        except (PdfReadError, Exception) as exc:
            raise SourceRejected(
                f"The PDF is damaged and cannot be read ({type(exc).__name__}); export it again."
            ) from exc
    finally:
        logger.setLevel(level)
    if not pages:
        raise SourceRejected("The PDF has no pages.")
    sections = [Section(text, f"page {number}", markdown=False) for number, text in enumerate(texts, 1) if text]
    if not sections and oversized:
        raise SourceRejected(
            f"The PDF's pages are too large to read (over {limits.max_page_content_bytes // 1048576} MB of drawing "
            "instructions each); export it again with text."
        )
    if not sections:
        raise SourceRejected(
            f"The PDF has no text layer ({len(pages)} page(s) of images, e.g. a scan); run OCR on it first."
        )
    notes = []
    if oversized:
        shown = ", ".join(str(n) for n in oversized[:5]) + (" …" if len(oversized) > 5 else "")
        notes.append(f"page(s) {shown} skipped: their drawing instructions are over the size limit")
    if len(sections) < len(pages) - len(oversized):
        notes.append(f"{len(pages) - len(oversized) - len(sections)} of {len(pages)} pages have no text layer")
    return ParsedDocument(sections=sections, page_count=len(pages), notes=notes)
