"""Copy-blocking decoding: a generation may not copy a run of 8 words from the texts it was given.

A small model asked to restate a fact mostly repeats it word for word; the post then reads as a collage of
quotations (issue "Grounded by construction", item 5). While it decodes, :class:`CopyGuard` looks at the last
seven words written: when they also stand in one of the given texts, the tokens that would start the word the text
has next are banned, so the model has to word that stretch its own way (and the verifier still checks it says the
same thing). Pure Python over token strings, so the ONNX worker process and the transformers path share it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from editorial.grounding.copying import RUN_WORDS, words_of  # the verbatim measure's own words (pure Python)

_TOKEN_WORD = re.compile(r"^(\s*)([A-Za-z0-9]+)")


class WordStarts:
    """For a tokenizer's vocabulary: which token ids begin a word with a given lower-case prefix."""

    def __init__(self, token_texts: Sequence[str]):
        self.by_prefix: dict[str, list[tuple[int, bool]]] = {}
        for token_id, text in enumerate(token_texts):
            match = _TOKEN_WORD.match(text or "")
            if match:
                self.by_prefix.setdefault(match.group(2).lower(), []).append((token_id, bool(match.group(1))))

    def starting(self, word: str, *, spaced_only: bool) -> list[int]:
        """Ids of tokens whose letters are a prefix of ``word`` (with a leading space when ``spaced_only``)."""
        found: list[int] = []
        for end in range(1, len(word) + 1):
            for token_id, spaced in self.by_prefix.get(word[:end], ()):
                if spaced or not spaced_only:
                    found.append(token_id)
        return found


class CopyGuard:
    """Bans, token by token, the next word that would complete a copied run of :data:`RUN_WORDS` words."""

    def __init__(self, texts: Iterable[str], starts: WordStarts, n: int = RUN_WORDS):
        self.n = n
        self.starts = starts
        self.follow: dict[tuple[str, ...], set[str]] = {}
        for text in texts:
            words = words_of(text)
            for i in range(len(words) - n + 1):
                self.follow.setdefault(tuple(words[i : i + n - 1]), set()).add(words[i + n - 1])

    def __bool__(self) -> bool:
        return bool(self.follow)

    def banned(self, generated: str) -> list[int]:
        """Token ids that must not come next after ``generated`` (the text decoded so far)."""
        words = words_of(generated)
        if len(words) < self.n - 1:
            return []
        following = self.follow.get(tuple(words[-(self.n - 1) :]))
        if not following:
            return []
        mid_word = bool(generated) and generated[-1].isalnum()  # then only a spaced token starts the next word
        banned: list[int] = []
        for word in following:
            banned += self.starts.starting(word, spaced_only=mid_word)
        return banned
