"""Plain-text helpers of the writer: word counts, cleaning model output, fitting a section to its budget."""

from __future__ import annotations

import re

from editorial.text import count_words

TOLERANCE = 0.2
"""A section is within budget when its word count is within ±20% of the budget."""

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_TRAILER = re.compile(
    r"^\s*(#+\s*)?(\*\*)?(references|sources|bibliography|citations|acknowledg(e)?ments?|works cited|notes)\b",
    re.IGNORECASE,
)
_META = re.compile(
    r"(this (article|section|post|text) (contains|has|is) (about )?\d+ words|word count:|\(\d+ words\))", re.IGNORECASE
)
_CODE_FENCE = "```"


def within_budget(words: int, budget: int, tolerance: float = TOLERANCE) -> bool:
    """True when ``words`` is within ``tolerance`` of ``budget``."""
    return budget > 0 and abs(words - budget) <= tolerance * budget


def clean_section(text: str, heading: str = "") -> str:
    """Remove what a model adds around a section: its own headings, a reference list, word-count remarks."""
    lines = text.replace("\r\n", "\n").strip().split("\n")
    kept: list[str] = []
    in_code = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(_CODE_FENCE):
            in_code = not in_code
            kept.append(line)
            continue
        if in_code:
            kept.append(line)
            continue
        if _TRAILER.match(stripped) and len(stripped) < 40:
            break  # the model's own reference list or thanks: everything after it goes
        if stripped.startswith("#"):
            continue  # the page adds the headings
        if heading and stripped.strip("*: ").lower() == heading.lower():
            continue
        if _META.search(stripped):
            continue
        kept.append(line.rstrip())
    if in_code:
        kept.append(_CODE_FENCE)
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(kept).strip())
    return drop_repeated_paragraphs(cleaned)


def drop_repeated_paragraphs(text: str) -> str:
    """Remove paragraphs that repeat an earlier one word for word (small models loop)."""
    seen: set[str] = set()
    out = []
    for paragraph in re.split(r"\n\s*\n", text):
        key = " ".join(re.sub(r"\[\d+\]", "", paragraph).lower().split())
        if key and key in seen:
            continue
        seen.add(key)
        out.append(paragraph)
    return "\n\n".join(out).strip()


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences (keeping their punctuation)."""
    return [part for part in _SENTENCE_END.split(paragraph.strip()) if part.strip()]


def trim_to_budget(text: str, budget: int, tolerance: float = TOLERANCE) -> str:
    """Cut ``text`` at a sentence end so it has at most ``budget * (1 + tolerance)`` words.

    A trailing unfinished sentence (no end punctuation) is dropped when the text stays within the lower bound.
    Code blocks are never cut in the middle: a paragraph that would overflow is dropped whole.
    """
    limit = int(budget * (1 + tolerance))
    floor = int(budget * (1 - tolerance))
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    out: list[str] = []
    total = 0
    for paragraph in paragraphs:
        words = count_words(paragraph)
        if total + words <= limit:
            out.append(paragraph)
            total += words
            continue
        if paragraph.lstrip().startswith(_CODE_FENCE) or paragraph.lstrip().startswith(("-", "*", "|")):
            break
        sentences, taken = split_sentences(paragraph), []
        for sentence in sentences:
            n = count_words(sentence)
            if total + n > limit:
                break
            taken.append(sentence)
            total += n
        if taken:
            out.append(" ".join(taken))
        break
    if out:
        last = out[-1].rstrip()
        if last and last[-1] not in ".!?:)`\"'*]" and not last.lstrip().startswith(("-", "*", "|", _CODE_FENCE)):
            sentences = split_sentences(last)
            tail_words = count_words(sentences[-1]) if sentences else 0
            if total - tail_words >= floor or total - tail_words >= limit * 0.5:
                kept = " ".join(sentences[:-1]).strip()
                total -= tail_words
                if kept:
                    out[-1] = kept
                else:
                    out.pop()
    return "\n\n".join(out).strip()


def last_sentences(text: str, count: int = 2) -> str:
    """The last ``count`` sentences of ``text`` (context for a continuation)."""
    sentences = split_sentences(text.replace("\n", " "))
    return " ".join(sentences[-count:])
