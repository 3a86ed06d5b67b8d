"""Markdown (and pasted text): decode, then clean HTML, badges and images while keeping headings and code."""

from __future__ import annotations

from editorial.ingest.cleaning import clean_markdown
from editorial.ingest.detect import decode_text
from editorial.ingest.parsers.base import ParsedDocument, Section
from editorial.ingest.parsers.limits import ParseLimits


def parse_markdown(data: bytes, limits: ParseLimits | None = None) -> ParsedDocument:
    """Parse a Markdown file."""
    text, encoding = decode_text(data)
    notes = [] if encoding in ("utf-8", "ascii") else [f"decoded as {encoding}"]
    return ParsedDocument(sections=[Section(clean_markdown(text))], notes=notes)
