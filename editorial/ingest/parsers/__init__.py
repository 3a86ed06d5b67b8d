"""One parser per source kind; each turns raw bytes into a :class:`ParsedDocument` or raises ``SourceRejected``."""

from __future__ import annotations

from collections.abc import Callable

from editorial.ingest.parsers.base import ParsedDocument, Section
from editorial.ingest.parsers.docx import parse_docx
from editorial.ingest.parsers.html import parse_html
from editorial.ingest.parsers.limits import ParseLimits
from editorial.ingest.parsers.markdown import parse_markdown
from editorial.ingest.parsers.pdf import parse_pdf
from editorial.ingest.parsers.text import parse_text

PARSERS: dict[str, Callable[[bytes, ParseLimits], ParsedDocument]] = {
    "md": parse_markdown,
    "paste": parse_markdown,
    "txt": parse_text,
    "pdf": parse_pdf,
    "html": parse_html,
    "docx": parse_docx,
}


def parse(kind: str, data: bytes, limits: ParseLimits | None = None) -> ParsedDocument:
    """Parse ``data`` as a source of ``kind`` (see :data:`PARSERS`) within ``limits``."""
    return PARSERS[kind](data, limits or ParseLimits())


__all__ = ["PARSERS", "ParseLimits", "ParsedDocument", "Section", "parse"]
