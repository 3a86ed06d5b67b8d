"""Split a Markdown body into sentences with character offsets, and the citations each one carries.

Headings, fenced code, tables and the References list are not sentences. Each list item and each paragraph
(block quotes included) is split into sentences; a sentence without a citation of its own inherits the
citations of its paragraph (writers often cite once, at the end of a paragraph).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CITATION = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\](?!\()")
_REFERENCES = re.compile(r"^#{1,6}\s*(references|sources)\s*$", re.IGNORECASE)
_REFERENCE_ENTRY = re.compile(r"^(?:[-*+]\s+)?(?:\[\d{1,3}\]|\d{1,3}[.)])\s")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "Dr.", "Mr.", "Ms.", "Mrs.", "Fig.", "No.")
# A sentence ends at . ! ? (plus closing quotes/brackets), then optional citations, then space or the end.
_END = re.compile(r"[.!?][\"'’”)\]]*(?:\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])*(?=\s+|$)")


@dataclass
class SentenceSpan:
    """One sentence of a body: ``body[start:end] == text``."""

    text: str
    start: int
    end: int
    cited: list[int] = field(default_factory=list)
    """Citations in the sentence itself."""
    paragraph_cited: list[int] = field(default_factory=list)
    """Citations anywhere in its paragraph (what it inherits when it has none of its own)."""
    quote: bool = False

    @property
    def citations(self) -> list[int]:
        """Its own citations, or its paragraph's when it has none."""
        return self.cited or self.paragraph_cited


def citation_numbers(text: str) -> list[int]:
    """Citation numbers in ``text`` in order of first appearance."""
    out: list[int] = []
    for match in CITATION.finditer(text):
        for number in re.findall(r"\d+", match.group(1)):
            if int(number) not in out:
                out.append(int(number))
    return out


def plain(text: str) -> str:
    """A sentence without citations, quote marks at line starts or Markdown emphasis (for checking)."""
    text = CITATION.sub(" ", text)
    text = re.sub(r"(?m)^\s*>\s?", "", text)
    text = _LIST_ITEM.sub("", text)
    pieces = re.split(r"(`[^`\n]*`)", text)  # code spans keep their underscores and asterisks
    for i in range(0, len(pieces), 2):
        piece = re.sub(r"\*{1,3}([^*\n]+?)\*{1,3}", r"\1", pieces[i])
        pieces[i] = re.sub(r"(?<![A-Za-z0-9])_{1,3}([^_\n]+?)_{1,3}(?![A-Za-z0-9])", r"\1", piece)  # not intraword
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", "".join(pieces))
    return " ".join(text.split())


def _blocks(body: str) -> list[tuple[int, int, bool]]:
    """(start, end, is_quote) of each paragraph or list item outside code, headings, tables and References."""
    blocks: list[tuple[int, int, bool]] = []
    current: list[int] | None = None  # [start, end, quote]
    in_code = in_references = False
    offset = 0

    def close() -> None:
        nonlocal current
        if current is not None:
            blocks.append((current[0], current[1], bool(current[2])))
        current = None

    for line in body.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        stripped = line.strip()
        content_end = start + len(line.rstrip("\r\n"))
        if stripped.startswith(("```", "~~~")):
            close()
            in_code = not in_code
            continue
        if in_code:
            continue
        if _REFERENCES.match(stripped):
            close()
            in_references = True
            continue
        if stripped.startswith("#"):
            in_references = False  # a heading after the References list: prose again
        if in_references and _REFERENCE_ENTRY.match(stripped):
            close()  # the list itself; text typed after it (without a heading) is still checked
            continue
        if not stripped or stripped.startswith(("#", "|")) or re.fullmatch(r"[-*_=]{3,}", stripped):
            close()
            continue
        quote = stripped.startswith(">")
        lead = start + len(line) - len(line.lstrip())
        if _LIST_ITEM.match(line) or (current is not None and bool(current[2]) != quote):
            close()
        if current is None:
            current = [lead, content_end, quote]
        else:
            current[1] = content_end
    close()
    return blocks


def _split(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence inside one paragraph."""
    spans: list[tuple[int, int]] = []
    begin = 0
    for match in _END.finditer(text):
        end = match.end()
        head = text[begin:end]
        before = text[: match.start() + 1]
        if any(before.endswith(a) for a in _ABBREVIATIONS):
            continue
        following = text[end:].lstrip()
        if following and not re.match(r"[A-Z0-9`\"'“(\[*>_]", following):
            continue  # "… 3.5 with …" or a lower-case continuation is not a new sentence
        if head.strip():
            spans.append((begin, end))
        begin = end
    if text[begin:].strip():
        spans.append((begin, len(text)))
    out = []
    for start, end in spans:
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        out.append((start + lead, end - trail))
    return out


def split_body(body: str) -> list[SentenceSpan]:
    """Every sentence of a Markdown body, with offsets into ``body`` and its (inherited) citations."""
    spans: list[SentenceSpan] = []
    for start, end, quote in _blocks(body):
        paragraph = body[start:end]
        inherited = citation_numbers(paragraph)
        for s, e in _split(paragraph):
            text = body[start + s : start + e]
            if not plain(text):
                continue
            spans.append(SentenceSpan(text, start + s, start + e, citation_numbers(text), inherited, quote))
    return spans
