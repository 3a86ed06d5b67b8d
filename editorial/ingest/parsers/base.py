"""What a parser returns: the document's text in sections, each with a location (heading path or page)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """A stretch of text and where it is: Markdown with headings, or one PDF page (``location="page 3"``)."""

    text: str
    location: str = ""
    markdown: bool = True


@dataclass
class ParsedDocument:
    """The parsed text of one file."""

    sections: list[Section]
    page_count: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def has_text(self) -> bool:
        """Whether any section holds non-blank text."""
        return any(section.text.strip() for section in self.sections)
