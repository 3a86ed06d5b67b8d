"""Verbatim copying: which words of a text sit in runs of 8+ words copied from the sources.

A post should read as prose, not a collage of quotes: at most 25% of its words may sit in verbatim runs of
:data:`RUN_WORDS` or more words from a source, and a verbatim run over :data:`QUOTE_WORDS` words must be a marked
quotation with its citation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

RUN_WORDS = 8
QUOTE_WORDS = 20
MAX_SHARE = 0.25

_WORD = re.compile(r"[a-z0-9]+")
_CITATION = re.compile(r"\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]")


def words_of(text: str) -> list[str]:
    """Lower-case word tokens (citations left out)."""
    return _WORD.findall(_CITATION.sub(" ", text.lower()))


class SourceShingles:
    """The word n-grams of the sources, to find copied runs in generated text."""

    def __init__(self, texts: Iterable[str] = (), n: int = RUN_WORDS):
        self.n = n
        self._grams: set[tuple[str, ...]] = set()
        for text in texts:
            self.add(text)

    def add(self, text: str) -> None:
        """Add a source text."""
        words = words_of(text)
        self._grams.update(tuple(words[i : i + self.n]) for i in range(len(words) - self.n + 1))

    def copied_mask(self, text: str) -> list[bool]:
        """For each word of ``text``: True when it sits in a run of ``n``+ words found in a source."""
        words = words_of(text)
        mask = [False] * len(words)
        for i in range(len(words) - self.n + 1):
            if tuple(words[i : i + self.n]) in self._grams:
                for j in range(i, i + self.n):
                    mask[j] = True
        return mask

    def copied_words(self, text: str) -> int:
        """How many words of ``text`` sit in copied runs."""
        return sum(self.copied_mask(text))

    def longest_run(self, text: str) -> int:
        """The longest copied run in ``text``, in words (0 when no run reaches ``n``)."""
        best = current = 0
        for copied in self.copied_mask(text):
            current = current + 1 if copied else 0
            best = max(best, current)
        return best


def verbatim_share(text: str, sources: Iterable[str], n: int = RUN_WORDS) -> float:
    """Share of the words of ``text`` in runs of ``n``+ words copied from ``sources``."""
    shingles = SourceShingles(sources, n)
    total = len(words_of(text))
    return shingles.copied_words(text) / total if total else 0.0
