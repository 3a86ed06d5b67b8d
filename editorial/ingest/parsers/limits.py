"""Limits on the work one file may cause: pages, decompressed size, nesting depth, element count."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

from editorial.ingest.errors import SourceRejected

VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)


@dataclass(frozen=True)
class ParseLimits:
    """What a parser may do with one file; the defaults match ``Settings``."""

    max_pages: int = 2000
    max_decompressed_bytes: int = 100 * 1024 * 1024
    max_depth: int = 400
    max_elements: int = 200_000
    max_page_content_bytes: int = 4 * 1024 * 1024


class _DepthScan(HTMLParser):
    """Counts elements and open-element depth in one linear pass, stopping at the first limit passed."""

    def __init__(self, limits: ParseLimits) -> None:
        super().__init__(convert_charrefs=False)
        self.limits, self.depth, self.elements, self.stack = limits, 0, 0, []

    def handle_starttag(self, tag, attrs) -> None:
        self.elements += 1
        if self.elements > self.limits.max_elements:
            raise SourceRejected(
                f"The HTML page has more than {self.limits.max_elements:,} elements; save the part you need."
            )
        if tag in VOID_TAGS:
            return
        self.stack.append(tag)
        if len(self.stack) > self.limits.max_depth:
            raise SourceRejected(
                f"The HTML page nests elements more than {self.limits.max_depth} levels deep; it cannot be read safely."
            )

    def handle_endtag(self, tag) -> None:
        if tag in self.stack:  # close it and anything left open inside it, as browsers do
            while self.stack and self.stack.pop() != tag:
                pass


def check_html(markup: str, limits: ParseLimits) -> None:
    """Refuse HTML with too many elements or too deep a nesting, before any tree is built."""
    scan = _DepthScan(limits)
    scan.feed(markup)
    scan.close()
