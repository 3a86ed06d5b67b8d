"""Evidence for Ask: the source sentences that best answer a question, scored, extractive first.

Each sentence of the retrieved passages is scored against the question by two measures:

- meaning: cosine similarity of its embedding to the question's (the collection's embedding model);
- coverage: the share of the question's content words (stemmed as the verifier stems them) found in the sentence,
  its source's name or its heading. A question about "Rich" is answered by a sentence of ``rich.md`` even when the
  sentence says "It requires Python 3.8".

Ask answers only when the best sentence scores at least :data:`ANSWER_MIN` and covers at least one content word of
the question; otherwise the sources don't say. The thresholds were set on ``bench/bench_assists.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from editorial.assists.common import embed, sentences
from editorial.grounding.schemas import Passage
from editorial.grounding.verify import content_words

COVERAGE_WEIGHT = 0.4
"""Weight of keyword coverage in a sentence's score (the rest is embedding similarity)."""
ANSWER_MIN = 0.45
"""Lowest score of a sentence that answers (below it, Ask declines)."""
MIN_WORDS, MAX_WORDS = 2, 70
QUESTION_WORDS = frozenset({"which", "what", "who", "whom", "whose", "when", "where", "why", "how", "kind", "many"})
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)*")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\[[^\]]*\]")


@dataclass(frozen=True)
class Evidence:
    """One candidate sentence: the passage it is in, its text (readable), and its scores."""

    n: int
    text: str
    similarity: float
    coverage: float

    @property
    def score(self) -> float:
        """The combined score (see :data:`COVERAGE_WEIGHT`)."""
        return (1 - COVERAGE_WEIGHT) * self.similarity + COVERAGE_WEIGHT * self.coverage

    @property
    def answers(self) -> bool:
        """True when the sentence is close enough to the question to be given as its answer."""
        return self.coverage > 0 and self.score >= ANSWER_MIN


def readable(text: str) -> str:
    """A source sentence for an answer: link and image targets, bold and code marks removed, spaces collapsed."""
    text = _LINK.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)
    return " ".join(text.replace("**", "").replace("__", "").replace("`", "").split())


def words(text: str) -> set[str]:
    """Content words of ``text``, stemmed like the verifier's and without a final "e" ("require" meets "requires")."""
    return {w[:-1] if len(w) > 4 and w.endswith("e") else w for w in content_words(text)}


def keywords(question: str) -> set[str]:
    """The question's content words (question words left out)."""
    return words(question) - QUESTION_WORDS


def _context_words(passage: Passage) -> set[str]:
    name = PurePosixPath(passage.source_name or "").stem.replace("_", " ").replace("-", " ")
    return words(f"{name} {passage.location or ''}")


def rank(embeddings: Any, question: str, passages: dict[int, Passage], query: str | None = None) -> list[Evidence]:
    """Every sentence of ``passages`` as :class:`Evidence` for ``question``, best first.

    ``query``: the retrieval query when it differs (a follow-up with the previous question); a sentence's similarity
    is then the closer of the two, its coverage still counts the question's own words.
    """
    candidates: list[tuple[int, str]] = []
    for n, passage in passages.items():
        for sentence in sentences(passage.text):
            text = readable(sentence)
            lead_in = text.endswith(":")  # "The goals of Alembic are:" introduces a list, it answers nothing
            if MIN_WORDS <= len(text.split()) <= MAX_WORDS and not lead_in and (n, text) not in candidates:
                candidates.append((n, text))
    if not candidates:
        return []
    wanted = keywords(question)
    asked = [question] if not query or query == question else [question, query]
    vectors = embed(embeddings, asked + [text for _, text in candidates])
    similarity = (vectors[len(asked) :] @ vectors[: len(asked)].T).max(axis=1)
    context = {n: _context_words(p) for n, p in passages.items()}
    found = []
    for (n, text), sim in zip(candidates, similarity, strict=True):
        found_words = words(text) | context[n]
        coverage = len(wanted & found_words) / len(wanted) if wanted else 0.0
        found.append(Evidence(n=n, text=text, similarity=float(sim), coverage=coverage))
    order = np.argsort([-e.score for e in found], kind="stable")
    return [found[i] for i in order]


def answer_terms(evidence: Evidence, question: str) -> set[str]:
    """Content words the evidence adds to the question: what an answer phrased from it must keep some of."""
    return words(evidence.text) - words(question)


def numbers(text: str) -> set[str]:
    """The numbers and versions in ``text`` ("3.8", "16", "2")."""
    return set(_NUMBER.findall(text))


def keeps_the_facts(phrased: str, evidence: list[Evidence], question: str) -> bool:
    """True when a phrased answer adds a word of the evidence to the question and drops none of its numbers.

    The evidence sentence it shares most words with is the one it phrases: every number of that sentence that the
    question does not already hold must be in the answer ("Rich needs a recent Python" loses "3.8").
    """
    own = words(phrased)
    closest = max(evidence, key=lambda e: len(own & words(e.text)))
    if not own & answer_terms(closest, question):
        return False
    return numbers(closest.text) - numbers(question) <= numbers(phrased)
