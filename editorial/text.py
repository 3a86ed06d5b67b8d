"""Words and reading time: the one word counter and the one read-time rule of the whole app.

Every page, the CLI, the writer's section budgets and the stored ``word_count`` of drafts and
revisions call these two functions, so the same post shows the same numbers everywhere.
"""

from __future__ import annotations

import math
import re

WORDS_PER_MINUTE = 265
"""Reading speed used for every read-time figure (Medium's figure for adult readers)."""

_LETTER = "0-9A-Za-zÀ-ÖØ-öø-ɏЀ-ӿ"
_WORD_RE = re.compile(rf"[{_LETTER}]+(?:['’.-][{_LETTER}]+)*")
_CITATION_RE = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")


def count_words(text: str) -> int:
    """Words in Markdown text: runs of letters and digits (``it's``, ``well-formed`` and ``3.5`` are one word).

    Citation markers such as ``[3]`` or ``[1, 2]``, punctuation and Markdown markup are not words.
    """
    return len(_WORD_RE.findall(_CITATION_RE.sub(" ", text)))


def read_time_minutes(words: int) -> int:
    """Reading time in whole minutes at :data:`WORDS_PER_MINUTE`, rounded up (0 only for no words)."""
    return max(1, math.ceil(words / WORDS_PER_MINUTE)) if words > 0 else 0
