"""PDF files with pypdf: one section per page; encrypted, damaged and image-only PDFs are rejected clearly."""

from __future__ import annotations

import io
import logging
import re

from editorial.ingest.errors import SourceRejected
from editorial.ingest.parsers.base import ParsedDocument, Section

_SPACES = re.compile(r"[ \t\u00a0]+")


def _page_text(raw: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in raw.replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def parse_pdf(data: bytes) -> ParsedDocument:
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
            pages = list(reader.pages)
            texts = [_page_text(page.extract_text() or "") for page in pages]
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
    if not sections:
        raise SourceRejected(
            f"The PDF has no text layer ({len(pages)} page(s) of images, e.g. a scan); run OCR on it first."
        )
    notes = []
    if len(sections) < len(pages):
        notes.append(f"{len(pages) - len(sections)} of {len(pages)} pages have no text layer")
    return ParsedDocument(sections=sections, page_count=len(pages), notes=notes)
