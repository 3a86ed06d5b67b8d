"""Plain text: decode (detecting the encoding) and normalise blank lines."""

from __future__ import annotations

from editorial.ingest.cleaning import clean_plain_text
from editorial.ingest.detect import decode_text
from editorial.ingest.parsers.base import ParsedDocument, Section
from editorial.ingest.parsers.limits import ParseLimits


def parse_text(data: bytes, limits: ParseLimits | None = None) -> ParsedDocument:
    """Parse a plain-text file."""
    text, encoding = decode_text(data)
    notes = [] if encoding in ("utf-8", "ascii") else [f"decoded as {encoding}"]
    return ParsedDocument(sections=[Section(clean_plain_text(text), markdown=False)], notes=notes)
