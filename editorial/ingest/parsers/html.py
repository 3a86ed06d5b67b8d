"""HTML pages: keep the main content as Markdown, drop scripts, styles and navigation boilerplate."""

from __future__ import annotations

import re

from editorial.ingest.cleaning import html_to_markdown
from editorial.ingest.detect import decode_text
from editorial.ingest.errors import SourceRejected
from editorial.ingest.parsers.base import ParsedDocument, Section
from editorial.ingest.parsers.limits import ParseLimits, check_html

_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)


def _decode(data: bytes) -> tuple[str, str]:
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        encoding = declared.group(1).decode("ascii", "replace")
        try:
            text = data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            pass
        else:
            if "\x00" not in text[:8192]:
                return text, encoding.lower()
    return decode_text(data)


def parse_html(data: bytes, limits: ParseLimits | None = None) -> ParsedDocument:
    """Parse an HTML page."""
    text, encoding = _decode(data)
    if not re.search(r"<[a-zA-Z!/]", text[:65536]):
        raise SourceRejected("The file has an .html name but holds no HTML markup.")
    check_html(text, limits or ParseLimits())
    notes = [] if encoding in ("utf-8", "ascii") else [f"decoded as {encoding}"]
    return ParsedDocument(sections=[Section(html_to_markdown(text))], notes=notes)
