"""Types of the groundedness check, shared by the writer, the verifier, storage and the pages.

A report is self-contained: it holds the passages behind the citation numbers of the body it checked, so a
person's edit can be re-checked later (on save, without generation) against the same passages.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class SentenceStatus(StrEnum):
    """What the verifier found for one sentence."""

    SUPPORTED = "supported"
    """The sentence's content is supported by a passage it cites, and every name/number occurs in the sources."""
    UNSUPPORTED = "unsupported"
    """A factual claim without a citation that supports it, or a name/number the sources lack."""
    NO_CLAIM = "no_claim"
    """No checkable claim (a transition, a question, a heading-like line)."""


class Passage(BaseModel):
    """A source passage behind citation number ``n`` of a body (the body's ``[n]``, as listed in References)."""

    n: int = Field(ge=1)
    text: str
    source_id: int | None = None
    source_name: str = ""
    location: str = ""

    def label(self) -> str:
        """``name — location`` for people."""
        return f"{self.source_name} — {self.location}" if self.location else self.source_name


class SentenceCheck(BaseModel):
    """The verdict on one sentence of a body; ``start``/``end`` are character offsets into that body."""

    index: int
    text: str
    start: int
    end: int
    status: SentenceStatus
    cited: list[int] = Field(default_factory=list)
    """Citation numbers the sentence carries (or inherits from its paragraph)."""
    passage_n: int | None = None
    """The passage that supports it best (None when no passage does)."""
    score: float = 0.0
    """Support score against ``passage_n`` (0–1)."""
    unknown_terms: list[str] = Field(default_factory=list)
    """Names, numbers, versions or identifiers that occur in no source."""
    reason: str = ""
    """One line for people when the sentence is unsupported."""


class GroundednessReport(BaseModel):
    """The verdict on every sentence of one body, with the passages it was checked against."""

    sentences: list[SentenceCheck] = Field(default_factory=list)
    passages: dict[int, Passage] = Field(default_factory=dict)
    unknown_terms: list[str] = Field(default_factory=list)
    """Every term of the body that occurs in no source (deduplicated, in order of appearance)."""

    def count(self, status: SentenceStatus) -> int:
        """How many sentences have ``status``."""
        return sum(1 for s in self.sentences if s.status == status)

    @property
    def supported_share(self) -> float:
        """Supported sentences among those with a claim (1.0 when none makes a claim)."""
        supported = self.count(SentenceStatus.SUPPORTED)
        claims = supported + self.count(SentenceStatus.UNSUPPORTED)
        return supported / claims if claims else 1.0

    @property
    def unsupported(self) -> list[SentenceCheck]:
        """The sentences that need an editor's attention."""
        return [s for s in self.sentences if s.status == SentenceStatus.UNSUPPORTED]
