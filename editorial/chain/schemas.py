"""Typed hand-offs between the chain's stages: evidence, the Blueprint and the written sections."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

MIN_SECTIONS = 5
"""The plan stage asks for 5-7 sections (introduction and conclusion included)."""
MAX_SECTIONS = 7
MAX_TAGS = 4
MIN_TARGET_WORDS = 100
MIN_SECTION_WORDS = 20
"""A section carries at least a sentence or two; a plan's minimum (``MIN_SECTIONS`` such sections) fits the
shortest post a run accepts, so no accepted target produces a plan whose budgets cannot add up."""
assert MIN_SECTIONS * MIN_SECTION_WORDS <= MIN_TARGET_WORDS

DEFAULT_QUESTIONS = (
    "What are the key concepts of {topic}?",
    "What are the first steps with {topic}?",
    "What are the main features of {topic}?",
    "What are the common use cases of {topic}?",
)
"""Questions a documentation set can answer (no "trends" or "what experts say": sources rarely hold those, and a
heading made from them promises what the post cannot back)."""

_TAG_INVALID = re.compile(r"[^a-z0-9]+")

SectionKind = Literal["intro", "body", "conclusion"]


def default_questions(topic: str) -> list[str]:
    """The four default research questions for ``topic``."""
    topic = topic.strip() or "the topic"
    return [question.format(topic=topic) for question in DEFAULT_QUESTIONS]


def normalize_tag(tag: str) -> str:
    """A dev.to tag: lowercase ASCII letters and digits only, at most 30 characters."""
    return _TAG_INVALID.sub("", tag.lower())[:30]


class Evidence(BaseModel):
    """One retrieved passage, numbered [n] for the whole post."""

    n: int = Field(ge=1)
    text: str
    source_id: int
    source_name: str
    location: str = ""
    score: float = 0.0
    chunk_id: str = ""
    question: int | None = None
    """Index of the research question that found it (None for passages found while writing)."""

    def label(self) -> str:
        """``name — location`` for lists shown to people."""
        return f"{self.source_name} — {self.location}" if self.location else self.source_name


class ResearchResult(BaseModel):
    """Evidence for the research questions, de-duplicated and numbered."""

    questions: list[str]
    evidence: list[Evidence] = Field(default_factory=list)
    per_question: list[list[int]] = Field(default_factory=list)
    """For each question, the numbers of the passages it found."""
    unanswered: list[int] = Field(default_factory=list)
    """Indexes of questions for which nothing relevant was found."""
    min_score: float = 0.0

    @property
    def grounded(self) -> bool:
        """True when at least one relevant passage was found."""
        return bool(self.evidence)


class Section(BaseModel):
    """One section of the post."""

    heading: str = Field(min_length=1, max_length=120)
    key_points: list[str] = Field(default_factory=list, max_length=5)
    evidence: list[int] = Field(default_factory=list)
    words: int = Field(default=200, ge=MIN_SECTION_WORDS, le=5000)
    kind: SectionKind = "body"

    @field_validator("heading")
    @classmethod
    def _clean_heading(cls, value: str) -> str:
        value = value.strip().strip("#").strip()
        if not value:
            raise ValueError("a heading cannot be empty")
        return value

    @field_validator("key_points")
    @classmethod
    def _clean_points(cls, value: list[str]) -> list[str]:
        return [point.strip() for point in value if point and point.strip()]


class Blueprint(BaseModel):
    """The content plan the editor edits and approves before writing."""

    title_candidates: list[str] = Field(min_length=1, max_length=5)
    description: str = Field(default="", max_length=300)
    angle: str = ""
    audience: str = ""
    value: str = ""
    """What the reader gets out of the post."""
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    sections: list[Section] = Field(min_length=1, max_length=12)
    conclusion: str = ""
    takeaways: list[str] = Field(default_factory=list)
    target_words: int = Field(default=1500, ge=MIN_TARGET_WORDS, le=20000)
    is_fallback: bool = False

    @field_validator("title_candidates", mode="before")
    @classmethod
    def _clean_titles(cls, value: list[str]) -> list[str]:
        titles = [str(title).strip()[:128] for title in value or [] if title and str(title).strip()]
        if not titles:
            raise ValueError("at least one title is needed")
        return titles[:5]

    @field_validator("tags", mode="before")
    @classmethod
    def _clean_tags(cls, value: list[str] | str) -> list[str]:
        if isinstance(value, str):
            value = value.split(",")
        tags: list[str] = []
        for tag in value or []:
            cleaned = normalize_tag(str(tag))
            if cleaned and cleaned not in tags:
                tags.append(cleaned)
        return tags[:MAX_TAGS]

    @model_validator(mode="after")
    def _unique_headings(self) -> Blueprint:
        seen: set[str] = set()
        for section in self.sections:
            key = section.heading.lower()
            if key in seen:
                raise ValueError(f"the heading '{section.heading}' appears twice")
            seen.add(key)
        return self

    @property
    def title(self) -> str:
        """The chosen title (the first candidate)."""
        return self.title_candidates[0]

    @property
    def budget_total(self) -> int:
        """Sum of the sections' word budgets."""
        return sum(section.words for section in self.sections)


class WrittenSection(BaseModel):
    """One finished section as saved in ``Run.state`` (citations still numbered by evidence)."""

    heading: str
    text: str
    budget: int
    words: int
    cited: list[int] = Field(default_factory=list)
    dropped_citations: list[int] = Field(default_factory=list)
    quoted: bool = False
    """True when the section holds a marked quotation of a source sentence (a fact the model could not rewrite)."""
    facts: int = 0
    """Facts chosen for the section before writing."""
    dropped_facts: int = 0
    """Facts dropped because no verified sentence could carry them."""
    origins: dict[str, int] = Field(default_factory=dict)
    """Kept sentences by origin: ``model`` (first try), ``retry``, ``quote``."""
    rejected: list[str] = Field(default_factory=list)
    """Why generated sentences were refused (first 20)."""
    notes: list[str] = Field(default_factory=list)
    """What people should know (a short or dropped section)."""
