"""Heading-aware splitting: Markdown sections by heading path, then size-bounded chunks with overlap."""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from editorial.ingest.parsers.base import Section

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_MARKUP = re.compile(r"[*_`]+")
SEPARATORS = ["\n\n", "\n", ". ", " ", ""]


@dataclass(frozen=True)
class Chunk:
    """One piece of a document to embed: its text, location and position in the document."""

    text: str
    location: str
    index: int


def _heading_title(raw: str) -> str:
    return _INLINE_MARKUP.sub("", raw).strip()


def markdown_sections(text: str) -> list[Section]:
    """Split Markdown at ATX headings (not inside code fences); each section carries its heading path.

    A heading directly followed by another heading stays with the next section, so no section is only headings.
    """
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    has_body = False
    fence: str | None = None

    def location() -> str:
        return " > ".join(title for _, title in path)

    for line in text.split("\n"):
        fence_match = _FENCE.match(line)
        if fence_match:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
        heading = None if fence is not None or fence_match else _ATX.match(line)
        if heading:
            if has_body:
                sections.append(Section("\n".join(lines).strip(), location()))
                lines, has_body = [], False
            level, title = len(heading.group(1)), _heading_title(heading.group(2))
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, title))
            lines.append(line.strip())
        else:
            lines.append(line)
            has_body = has_body or bool(line.strip())
    body = "\n".join(lines).strip()
    if body and (has_body or not sections):
        sections.append(Section(body, location()))
    return sections


def split_sections(sections: list[Section], *, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split parsed sections into chunks of at most ``chunk_size`` characters (``chunk_overlap`` shared)."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=min(chunk_overlap, max(chunk_size // 2, 0)), separators=SEPARATORS
    )
    chunks: list[Chunk] = []
    for parsed in sections:
        parts = markdown_sections(parsed.text) if parsed.markdown else [parsed]
        for part in parts:
            location = " > ".join(filter(None, [parsed.location, part.location])) if parsed.markdown else part.location
            pending = ""
            for piece in splitter.split_text(part.text):
                piece = piece.strip()
                if not piece:
                    continue
                if pending:
                    piece, pending = f"{pending}\n\n{piece}", ""
                if _only_headings(piece):
                    pending = piece
                    continue
                chunks.append(Chunk(piece, location, len(chunks)))
            if pending:
                chunks.append(Chunk(pending, location, len(chunks)))
    return chunks


def _only_headings(text: str) -> bool:
    """Whether every non-blank line is a Markdown heading (such a piece is merged into the next one)."""
    lines = [line for line in text.split("\n") if line.strip()]
    return bool(lines) and all(_ATX.match(line) for line in lines)
