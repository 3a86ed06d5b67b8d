"""Research: evidence for each question from the collection (MMR), de-duplicated across questions, numbered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from editorial.chain.schemas import Evidence, ResearchResult

MIN_SCORE = 0.25
"""Passages below this relevance (1 - cosine distance) do not count as evidence."""
PER_QUESTION = 3
MAX_PASSAGE_CHARS = 1200


class PassageLike(Protocol):
    """What the chain reads from :class:`editorial.retrieval.Passage`."""

    text: str
    source_id: int
    source_name: str
    location: str
    chunk_index: int
    score: float
    chunk_id: str


Search = Callable[[str, int], list[Any]]
"""``search(query, k)`` → passages of one collection, best first (MMR)."""


def collection_search(settings, embeddings, chroma_name: str, *, fetch_k: int = 20, lambda_mult: float = 0.5) -> Search:
    """A :data:`Search` over one Chroma collection through :func:`editorial.retrieval.search` (MMR)."""
    from editorial.retrieval import search

    def run(query: str, k: int) -> list[Any]:
        return search(
            settings,
            embeddings,
            chroma_name=chroma_name,
            query=query,
            k=k,
            mmr=True,
            fetch_k=max(fetch_k, k * 4),
            lambda_mult=lambda_mult,
        )

    return run


class EvidenceRegistry:
    """The post-wide numbering of passages: the same chunk always gets the same [n]."""

    def __init__(self, items: list[Evidence] | None = None):
        self.items: list[Evidence] = list(items or [])
        self._by_chunk = {item.chunk_id or f"{item.source_id}:{item.text[:80]}": item for item in self.items}

    def add(self, passage: PassageLike, question: int | None = None) -> Evidence:
        """Number ``passage`` (or return the existing number for the same chunk)."""
        key = passage.chunk_id or f"{passage.source_id}:{passage.text[:80]}"
        if key in self._by_chunk:
            return self._by_chunk[key]
        item = Evidence(
            n=len(self.items) + 1,
            text=passage.text[:MAX_PASSAGE_CHARS],
            source_id=int(passage.source_id),
            source_name=passage.source_name,
            location=passage.location or "",
            score=float(passage.score),
            chunk_id=passage.chunk_id or "",
            question=question,
        )
        self.items.append(item)
        self._by_chunk[key] = item
        return item

    def by_number(self) -> dict[int, Evidence]:
        """Evidence keyed by its number."""
        return {item.n: item for item in self.items}


def research(
    search: Search, questions: list[str], *, per_question: int = PER_QUESTION, min_score: float = MIN_SCORE
) -> ResearchResult:
    """Retrieve evidence for every question.

    Passages under ``min_score`` are ignored; a passage found by two questions is numbered once (for the first).
    A question with no relevant passage is listed in ``unanswered`` so the page can say so.
    """
    registry = EvidenceRegistry()
    per: list[list[int]] = []
    unanswered: list[int] = []
    for index, question in enumerate(questions):
        found = [p for p in search(question, per_question) if float(p.score) >= min_score]
        numbers: list[int] = []
        for passage in found:
            item = registry.add(passage, question=index)
            if item.n not in numbers:
                numbers.append(item.n)
        per.append(numbers)
        if not numbers:
            unanswered.append(index)
    return ResearchResult(
        questions=list(questions), evidence=registry.items, per_question=per, unanswered=unanswered, min_score=min_score
    )
