"""The preview with unsupported sentences highlighted, as safe HTML.

Two marker characters are put around each unsupported sentence of the Markdown body, the body is rendered
by :mod:`editorial.preview` (raw HTML escaped, then sanitised), and only then do the markers become
``<mark>`` tags — in text only, never inside a tag — before a last sanitising pass. The markers are
punctuation, so Markdown emphasis next to them still works; any occurrence of them in the body itself is
replaced first, so nobody can forge a highlight.
"""

from __future__ import annotations

import re

import nh3

from editorial.grounding.schemas import SentenceCheck, SentenceStatus
from editorial.preview import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES, render_preview

OPEN, CLOSE = "\u2045", "\u2046"  # ⁅ ⁆ (Unicode open/close punctuation, rare in prose)
_STAND_IN = "\ufffd"
_BLOCK_PREFIX = re.compile(r"[ \t]*(?:(?:[-*+]|\d{1,9}[.)]|>|#{1,6})[ \t]+)*")
_TAG = re.compile(r"<[^>]*>")
# Where a marker would change what the Markdown means: link destinations, autolinks, inline code.
_PROTECTED = re.compile(r"\]\([^)\n]*\)|<[^>\s]+>|`[^`\n]*`")
_ENCODED = ("%E2%81%85", "%E2%81%86")

HIGHLIGHT_STYLE = (
    "<style>mark.gr-unsupported{background:#ffd6d6;color:inherit;border-bottom:2px solid #d33;padding:0 1px}</style>"
)


def _after_prefix(text: str, line_start: int) -> int:
    """Where the line starting at ``line_start`` begins its text, past list/quote/heading markup."""
    return _BLOCK_PREFIX.match(text, line_start).end()


def _spans(body: str, sentences: list[SentenceCheck]) -> list[tuple[int, int]]:
    """(start, end) of each unsupported sentence, past line-start Markdown, without outer blanks or overlaps."""
    protected = [(m.start() + 1, m.end()) for m in _PROTECTED.finditer(body)]

    def outside(offset: int) -> int:
        for low, high in protected:
            if low <= offset < high:
                return high
        return offset

    spans: list[tuple[int, int]] = []
    for sentence in sorted(sentences, key=lambda s: s.start):
        if sentence.status != SentenceStatus.UNSUPPORTED:
            continue
        start, end = outside(max(0, sentence.start)), outside(min(len(body), sentence.end))
        start = max(start, _after_prefix(body, body.rfind("\n", 0, start) + 1))
        while start < end and body[start].isspace():
            start += 1
        while end > start and body[end - 1].isspace():
            end -= 1
        if start < end and (not spans or start >= spans[-1][1]):
            spans.append((start, end))
    return spans


def _wrap(segment: str) -> str:
    """Markers around each line of ``segment`` (after any line-start markup), so no Markdown block breaks."""
    lines = segment.split("\n")
    wrapped = [f"{OPEN}{lines[0]}{CLOSE}"]
    for line in lines[1:]:
        cut = _after_prefix(line, 0)
        wrapped.append(f"{line[:cut]}{OPEN}{line[cut:]}{CLOSE}" if line[cut:].strip() else line)
    return "\n".join(wrapped)


def _unmark(text: str) -> str:
    return text.replace(OPEN, _STAND_IN).replace(CLOSE, _STAND_IN)


def mark_body(body: str, sentences: list[SentenceCheck]) -> str:
    """The body with the markers around each unsupported sentence (markers already in the body are replaced)."""
    clean = _unmark(body)
    pieces, last = [], 0
    for start, end in _spans(clean, sentences):
        pieces += [clean[last:start], _wrap(clean[start:end])]
        last = end
    pieces.append(clean[last:])
    return "".join(pieces)


def _markers_to_tags(html: str) -> str:
    out, last = [], 0
    for match in _TAG.finditer(html):
        out.append(_text_markers(html[last : match.start()]))
        tag = match.group(0).replace(OPEN, "").replace(CLOSE, "")
        for encoded in _ENCODED:
            tag = re.sub(encoded, "", tag, flags=re.IGNORECASE)
        out.append(tag)
        last = match.end()
    out.append(_text_markers(html[last:]))
    return "".join(out)


def _text_markers(text: str) -> str:
    return text.replace(OPEN, '<mark class="gr-unsupported">').replace(CLOSE, "</mark>")


def highlighted_preview(front_matter: dict, body: str, sentences: list[SentenceCheck]) -> str:
    """Safe preview HTML of the post with its unsupported sentences in ``<mark class="gr-unsupported">``.

    Args:
        front_matter: The post's front matter (title, description, tags are shown).
        body: The Markdown body the sentence offsets refer to.
        sentences: The report's sentence verdicts for ``body``.
    """
    shown = {key: _unmark(value) if isinstance(value, str) else value for key, value in front_matter.items()}
    html = _markers_to_tags(render_preview(shown, mark_body(body, sentences)))
    attributes = {**ALLOWED_ATTRIBUTES, "mark": {"class"}}
    safe = nh3.clean(
        html,
        tags=ALLOWED_TAGS | {"mark"},
        attributes=attributes,
        url_schemes=URL_SCHEMES,
        filter_style_properties={"text-align"},
        link_rel="noopener noreferrer nofollow",
    )
    return HIGHLIGHT_STYLE + safe.replace(OPEN, "").replace(CLOSE, "")
