"""Numbered citations: what the writer is shown, what it may cite, and the checked References list.

While writing, every passage has a post-wide number ``[n]`` (its :class:`Evidence` number). A section may only
cite the passages it was shown: other numbers are dropped. At the end, citations are renumbered per source
document in order of first use, and the References list holds exactly the cited sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from editorial.chain.schemas import Evidence

CITATION = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\](?!\()")
_FENCE = re.compile(r"(```.*?```)", re.DOTALL)
_TOKEN = re.compile(r"[a-z0-9]{4,}")
_STOP = frozenset(
    [
        "this",
        "that",
        "with",
        "from",
        "have",
        "they",
        "their",
        "there",
        "which",
        "about",
        "would",
        "could",
        "should",
        "these",
        "those",
        "them",
        "into",
        "also",
        "more",
        "most",
        "such",
        "than",
        "then",
        "when",
        "what",
        "where",
        "will",
        "your",
        "been",
        "being",
        "were",
        "very",
        "just",
        "like",
        "only",
        "over",
        "some",
    ]
)


def format_sources(evidence: Iterable[Evidence], max_chars: int = 320) -> str:
    """The numbered source list shown to the writer (each passage shortened to ``max_chars``)."""
    lines = []
    for item in evidence:
        text = " ".join(item.text.split())
        if len(text) > max_chars:
            text = text[:max_chars].rsplit(" ", 1)[0] + "…"
        lines.append(f"[{item.n}] {text}")
    return "\n".join(lines)


def _outside_code(text: str, transform) -> str:
    """Apply ``transform`` to the parts of ``text`` outside fenced code blocks."""
    parts = _FENCE.split(text)
    return "".join(part if part.startswith("```") else transform(part) for part in parts)


def cited_numbers(text: str) -> list[int]:
    """Citation numbers in ``text`` in order of first appearance (code blocks ignored)."""
    found: list[int] = []

    def collect(part: str) -> str:
        for match in CITATION.finditer(part):
            for number in re.split(r"\s*[,;]\s*", match.group(1)):
                value = int(number)
                if value not in found:
                    found.append(value)
        return part

    _outside_code(text, collect)
    return found


def keep_allowed(text: str, allowed: set[int]) -> tuple[str, list[int], list[int]]:
    """Drop citations whose number is not in ``allowed``.

    Returns:
        The cleaned text, the kept numbers (first-use order) and the dropped numbers.
    """
    kept: list[int] = []
    dropped: list[int] = []

    def replace(match: re.Match) -> str:
        numbers = [int(n) for n in re.split(r"\s*[,;]\s*", match.group(1))]
        good = []
        for number in numbers:
            if number in allowed:
                if number not in good:
                    good.append(number)
                if number not in kept:
                    kept.append(number)
            elif number not in dropped:
                dropped.append(number)
        return "".join(f"[{n}]" for n in good)

    cleaned = _outside_code(text, lambda part: CITATION.sub(replace, part))
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned)
    return cleaned, kept, dropped


def _terms(text: str) -> set[str]:
    return {word for word in _TOKEN.findall(text.lower()) if word not in _STOP}


def attribute_paragraphs(text: str, evidence: list[Evidence], min_overlap: float = 0.12) -> str:
    """Give an uncited paragraph the citation of the passage it overlaps most, when the overlap is real.

    Overlap is the share of the paragraph's content words found in the passage; a paragraph below
    ``min_overlap`` stays uncited (it is not grounded in any shown passage).
    """
    if not evidence:
        return text
    passage_terms = [(item.n, _terms(item.text)) for item in evidence]
    paragraphs = re.split(r"(\n\s*\n)", text)
    out = []
    for paragraph in paragraphs:
        stripped = paragraph.strip()
        if (
            not stripped
            or stripped.startswith(("```", "|", "#", ">"))
            or CITATION.search(paragraph)
            or len(stripped.split()) < 12
        ):
            out.append(paragraph)
            continue
        terms = _terms(paragraph)
        if not terms:
            out.append(paragraph)
            continue
        best_n, best = 0, 0.0
        for n, p_terms in passage_terms:
            overlap = len(terms & p_terms) / len(terms)
            if overlap > best:
                best_n, best = n, overlap
        if best >= min_overlap:
            body = paragraph.rstrip()
            trailing = paragraph[len(body) :]
            body = f"{body[:-1]} [{best_n}]{body[-1]}" if body.endswith((".", "!", "?")) else f"{body} [{best_n}]"
            out.append(body + trailing)
        else:
            out.append(paragraph)
    return "".join(out)


def renumber(texts: list[str], evidence: dict[int, Evidence]) -> tuple[list[str], list[str]]:
    """Renumber evidence citations per source document, in order of first use, and build the References list.

    Args:
        texts: Section texts whose citations are evidence numbers (all present in ``evidence``).
        evidence: Evidence by number.

    Returns:
        The texts with final numbers and the References lines (``[k] name — locations``), one per cited source.
    """
    source_number: dict[int, int] = {}
    locations: dict[int, list[str]] = {}
    names: dict[int, str] = {}
    for text in texts:
        for n in cited_numbers(text):
            item = evidence.get(n)
            if item is None:
                continue
            if item.source_id not in source_number:
                source_number[item.source_id] = len(source_number) + 1
                names[item.source_id] = item.source_name
                locations[item.source_id] = []
            if item.location and item.location not in locations[item.source_id]:
                locations[item.source_id].append(item.location)

    def replace(match: re.Match) -> str:
        final: list[int] = []
        for number in re.split(r"\s*[,;]\s*", match.group(1)):
            item = evidence.get(int(number))
            if item is None:
                continue
            k = source_number[item.source_id]
            if k not in final:
                final.append(k)
        return "".join(f"[{k}]" for k in sorted(final))

    new_texts = [_outside_code(text, lambda part: CITATION.sub(replace, part)) for text in texts]
    new_texts = [re.sub(r"(\[\d+\])(?:\1)+", r"\1", text) for text in new_texts]
    references = []
    for source_id, k in sorted(source_number.items(), key=lambda pair: pair[1]):
        where = "; ".join(locations[source_id][:4])
        references.append(f"[{k}] {names[source_id]}" + (f" — {where}" if where else ""))
    return new_texts, references


def verify(body: str, references: list[str]) -> list[str]:
    """Problems with a finished post's citations (empty when every [k] resolves and every source is cited)."""
    listed = set()
    for line in references:
        match = re.match(r"\[(\d+)\]", line.strip())
        if match:
            listed.add(int(match.group(1)))
    used = set(cited_numbers(body))
    problems = [f"[{n}] has no entry in References" for n in sorted(used - listed)]
    problems += [f"reference [{n}] is never cited" for n in sorted(listed - used)]
    return problems


def references_block(references: list[str]) -> str:
    """The Markdown References section (empty string when nothing was cited)."""
    if not references:
        return ""
    return "## References\n\n" + "\n".join(f"{line}  " for line in references)


def split_references(body: str) -> tuple[str, list[str]]:
    """Split a post body into the text before ``## References`` and the reference lines."""
    match = re.search(r"^## References\s*$", body, flags=re.MULTILINE)
    if not match:
        return body, []
    lines = [line.strip() for line in body[match.end() :].splitlines() if line.strip()]
    return body[: match.start()].rstrip(), [line for line in lines if re.match(r"\[\d+\]", line)]
