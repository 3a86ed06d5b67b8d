"""Degeneration guards: stop a looping generation, drop near-duplicate sentences, strip chat/template debris.

Small models loop ("They have become a part of the family" six times), echo their prompt's roles ("User:",
"Reply:", "Premise:") and leak special tokens or headings into a section. These guards are pure text functions,
usable on any backend's output and, for :class:`LoopGuard`, while a generation streams.
"""

from __future__ import annotations

import re
from collections import Counter

from editorial.grounding.verify import content_words

LOOP_NGRAM = 4
"""Word n-gram size of the loop detector."""
LOOP_REPEATS = 3
"""A generation loops once one n-gram has appeared this many times."""
DUPLICATE_SIMILARITY = 0.8
"""Two sentences whose content-word sets overlap this much (Jaccard) say the same thing."""

ROLE_LABELS = (
    "user",
    "assistant",
    "system",
    "human",
    "ai",
    "bot",
    "reply",
    "response",
    "answer",
    "question",
    "premise",
    "hypothesis",
    "sender",
    "recipient",
    "input",
    "output",
    "instruction",
    "instructions",
    "context",
    "fact",
    "facts",
    "source",
    "sources",
    "passage",
    "rewrite",
    "rewritten",
    "paraphrase",
    "sentence",
    "note",
    "example",
    "task",
)
_ROLE = re.compile(
    r"^\s*(?:[-*>]\s*)?(?:\*\*)?(?:" + "|".join(ROLE_LABELS) + r")(?:\s*\d{1,2})?\s*(?:\*\*)?\s*:(?:\*\*)?\s*",
    re.IGNORECASE,
)
_SPECIAL = re.compile(
    r"<\|[^|>]{1,40}\|>|</?s>|\[/?INST\]|<<SYS>>|<</SYS>>|<\/?(?:im_start|im_end|endoftext|eos|bos|pad|unk)>",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^\s*#{1,6}\s")
_WORD = re.compile(r"[a-z0-9']+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def repeated_ngram(text: str, n: int = LOOP_NGRAM, repeats: int = LOOP_REPEATS, *, content: int = 0) -> str | None:
    """The first word n-gram with at least ``content`` content words that occurs ``repeats`` times, or None."""
    words = _words(text)
    counts: Counter[tuple[str, ...]] = Counter()
    for i in range(len(words) - n + 1):
        gram = tuple(words[i : i + n])
        counts[gram] += 1
        if counts[gram] >= repeats and (not content or len(content_words(" ".join(gram))) >= content):
            return " ".join(gram)
    return None


SELF_REPEAT_NGRAM = 3


def self_repetition(sentence: str, n: int = SELF_REPEAT_NGRAM) -> str | None:
    """A phrase of ``n`` words, two of them content words, that one sentence says twice; None when there is none.

    A small model's degenerate rewording repeats itself inside a sentence ("a short-lived token obtained via OIDC
    is set to a short-lived token, which is a short-lived token"); every word is the source's, so only this sees it.
    """
    return repeated_ngram(sentence, n, 2, content=2)


class LoopGuard:
    """Watch a streamed generation and say when it starts looping (an n-gram seen ``repeats`` times).

    Call :meth:`feed` with each streamed piece; it returns True from the moment the text loops, so the caller
    can stop the generation early. :attr:`text` holds everything fed.
    """

    def __init__(self, n: int = LOOP_NGRAM, repeats: int = LOOP_REPEATS):
        self.n, self.repeats = n, repeats
        self.text = ""
        self.looped: str | None = None
        self._counts: Counter[tuple[str, ...]] = Counter()
        self._words: list[str] = []
        self._pending = ""

    def feed(self, piece: str) -> bool:
        """Add streamed text; True when the generation loops."""
        self.text += piece
        if self.looped is not None:
            return True
        self._pending += piece
        # Only whole words count: keep the last, possibly unfinished, word for the next piece.
        match = re.search(r"[a-z0-9']+$", self._pending.lower())
        tail = self._pending[match.start() :] if match else ""
        done = self._pending[: len(self._pending) - len(tail)]
        self._pending = tail
        return self._count(done)

    def finish(self) -> bool:
        """Count the last word (the stream ended); True when the whole text loops."""
        pending, self._pending = self._pending, ""
        return self.looped is not None or self._count(pending)

    def _count(self, text: str) -> bool:
        for word in _words(text):
            self._words.append(word)
            if len(self._words) >= self.n:
                gram = tuple(self._words[-self.n :])
                self._counts[gram] += 1
                if self._counts[gram] >= self.repeats:
                    self.looped = " ".join(gram)
                    return True
        return False


def cut_loop(text: str, n: int = LOOP_NGRAM) -> str:
    """``text`` up to the end of the last sentence before an n-gram's second occurrence (a loop's start)."""
    words = list(re.finditer(r"[A-Za-z0-9']+", text))
    seen: dict[tuple[str, ...], int] = {}
    for i in range(len(words) - n + 1):
        gram = tuple(w.group(0).lower() for w in words[i : i + n])
        if gram in seen:
            cut = words[i].start()
            ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)", text[:cut])]
            return text[: ends[-1]].rstrip() if ends else ""
        seen[gram] = i
    return text


def strip_debris(text: str, heading: str = "") -> str:
    """Remove chat and template debris from generated text.

    Special tokens go; role labels ("User:", "Reply:", "Premise:", "Fact 2:") at a line start go (the rest of the
    line stays, to be verified like any sentence); headings inside a section and a line repeating the section's
    heading go.
    """
    out: list[str] = []
    for line in _SPECIAL.sub(" ", text).replace("\r\n", "\n").split("\n"):
        if _HEADING.match(line) or line.strip().strip(":*").lower() in ROLE_LABELS:
            continue
        if heading and line.strip().strip("*:# ").lower() == heading.strip().lower():
            continue
        while True:
            stripped = _ROLE.sub("", line, count=1)
            if stripped == line:
                break
            line = stripped
        out.append(re.sub(r"[ \t]{2,}", " ", line).rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def debris_lines(text: str) -> list[str]:
    """Lines of a body that are debris (a role label, a special token); headings are the body's own."""
    return [line for line in text.splitlines() if _ROLE.match(line) or _SPECIAL.search(line)]


def signature(sentence: str) -> frozenset[str]:
    """The content-word set of a sentence, for near-duplicate detection."""
    return frozenset(content_words(re.sub(r"\[\d+(?:\s*,\s*\d+)*\]", " ", sentence)))


def similar(a: frozenset[str], b: frozenset[str], threshold: float = DUPLICATE_SIMILARITY) -> bool:
    """True when two signatures overlap at least ``threshold`` (Jaccard); empty signatures never match."""
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= threshold


class DuplicateFilter:
    """Post-wide memory of sentences already written: rejects a sentence that says the same thing again."""

    def __init__(self, threshold: float = DUPLICATE_SIMILARITY):
        self.threshold = threshold
        self._seen: list[frozenset[str]] = []

    def seen(self, sentence: str) -> bool:
        """True when a near-duplicate of ``sentence`` was already accepted."""
        mine = signature(sentence)
        return any(similar(mine, other, self.threshold) for other in self._seen)

    def accept(self, sentence: str) -> bool:
        """Remember ``sentence`` and return True, or return False when it repeats an earlier one."""
        if self.seen(sentence):
            return False
        mine = signature(sentence)
        if mine:
            self._seen.append(mine)
        return True


def drop_near_duplicates(sentences: list[str], threshold: float = DUPLICATE_SIMILARITY) -> list[str]:
    """``sentences`` without those that repeat an earlier one (same content words, Jaccard ≥ ``threshold``)."""
    keep = DuplicateFilter(threshold)
    return [s for s in sentences if keep.accept(s)]
