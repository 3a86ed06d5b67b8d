"""Write: one section at a time, each with its own retrieval, cited, cleaned and fitted to its budget."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from editorial.chain import prompts
from editorial.chain.calls import CallSite, ChatTarget, invoke_text, messages_for, stream_text
from editorial.chain.citations import (
    attribute_paragraphs,
    cited_numbers,
    format_sources,
    keep_allowed,
    references_block,
    renumber,
    split_references,
)
from editorial.chain.research import MIN_SCORE, EvidenceRegistry, Search
from editorial.chain.schemas import Blueprint, Evidence, Section, WrittenSection
from editorial.chain.text import (
    clean_section,
    count_words,
    drop_repeated_paragraphs,
    last_sentences,
    trim_to_budget,
    within_budget,
)

TOKENS_PER_WORD = 1.35
"""SmolLM2's tokenizer: about 1.3 tokens per English word; the cap leaves room for +20%."""
SOURCES_PER_SECTION = 3
QUOTE_WORDS = 40
"""Longest source sentence quoted into a section that has no citation of its own."""
SOURCE_CHARS = 300


def section_sources(
    section: Section, registry: EvidenceRegistry, search: Search | None, *, limit: int = SOURCES_PER_SECTION
) -> list[Evidence]:
    """The passages a section is written from: its own retrieval (heading + key points), then its plan evidence."""
    chosen: list[Evidence] = []
    if search is not None:
        query = " ".join([section.heading, *section.key_points])
        for passage in search(query, limit):
            if float(passage.score) >= MIN_SCORE:
                item = registry.add(passage)
                if item not in chosen:
                    chosen.append(item)
    by_number = registry.by_number()
    for n in section.evidence:
        item = by_number.get(n)
        if item is not None and item not in chosen:
            chosen.append(item)
    return chosen[:limit]


def section_prompt(blueprint: Blueprint, index: int, section: Section, sources: list[Evidence], tone: str) -> list:
    """System and user messages for one section."""
    listed = format_sources(sources, SOURCE_CHARS) if sources else prompts.NO_SOURCES
    points = "; ".join(section.key_points) or section.heading
    common = {"title": blueprint.title, "sources": listed, "words": section.words, "points": points}
    if section.kind == "intro":
        user = prompts.INTRO_USER.format(angle=blueprint.angle or points, value=blueprint.value or points, **common)
    elif section.kind == "conclusion":
        user = prompts.CONCLUSION_USER.format(conclusion=blueprint.conclusion or section.heading, **common)
    else:
        user = prompts.SECTION_USER.format(
            index=index + 1, total=len(blueprint.sections), heading=section.heading, **common
        )
    system = prompts.WRITER_SYSTEM.format(audience=blueprint.audience or "developers", tone=tone or "practical")
    return messages_for(system, user)


def write_section(
    target: ChatTarget,
    blueprint: Blueprint,
    index: int,
    sources: list[Evidence],
    *,
    site: CallSite,
    tone: str = "",
    on_token: Callable[[str], None] = lambda text: None,
) -> WrittenSection:
    """Stream one section, then clean it, check its citations and fit it within ±20% of its budget.

    Citations use the post-wide evidence numbers; numbers the section was not shown are dropped, and a
    paragraph without a citation gets the passage it overlaps most (when the overlap is real).
    """
    section = blueprint.sections[index]
    stage = f"section {index + 1}"
    cap = int(section.words * 1.2 * TOKENS_PER_WORD) + 24
    raw = stream_text(
        target,
        section_prompt(blueprint, index, section, sources, tone),
        stage=stage,
        site=site,
        max_tokens=cap,
        on_token=on_token,
    )
    text = clean_section(raw, section.heading)
    words = count_words(text)
    if text and words < section.words * 0.8:
        missing = section.words - words
        on_token("\n\n")
        more = invoke_text(
            target,
            messages_for(
                None,
                prompts.CONTINUE_USER.format(
                    title=blueprint.title, heading=section.heading, words=missing, tail=last_sentences(text)
                ),
            ),
            stage=f"{stage} continue",
            site=site,
            max_tokens=int(missing * 1.2 * TOKENS_PER_WORD) + 16,
        )
        extra = clean_section(more, section.heading)
        on_token(extra)
        text = drop_repeated_paragraphs(f"{text}\n\n{extra}") if extra else text
    allowed = {item.n for item in sources}
    text, _kept, dropped = keep_allowed(text, allowed)
    text = attribute_paragraphs(text, sources)
    quote = None if cited_numbers(text) else evidence_quote(section, sources, min(QUOTE_WORDS, section.words // 2))
    plain = trim_to_budget(text, section.words)
    if quote:
        quoted = f"{trim_to_budget(text, max(section.words - count_words(quote), 1))}\n\n{quote}".strip()
        # The quote is kept when the section stays within budget with it, or when it is out of budget either way.
        if within_budget(count_words(quoted), section.words) or not within_budget(count_words(plain), section.words):
            plain = quoted
        else:
            quote = None
    text, cited, more_dropped = keep_allowed(plain, allowed)
    return WrittenSection(
        heading=section.heading,
        text=text,
        budget=section.words,
        words=count_words(text),
        cited=cited,
        dropped_citations=sorted(set(dropped) | set(more_dropped)),
        quoted=quote is not None,
    )


def evidence_quote(section: Section, sources: list[Evidence], max_words: int = QUOTE_WORDS) -> str | None:
    """A verbatim, cited sentence from the section's best passage, as a Markdown quote.

    Used when the model's text ends up with no citation at all (small models rarely cite, and code attributes a
    paragraph only when it really overlaps a passage): the section then still carries one grounded, checkable
    statement. Returns None when no passage has a usable sentence.
    """
    wanted = {w for w in re.findall(r"[a-z]{4,}", " ".join([section.heading, *section.key_points]).lower())}
    best: tuple[float, str, int] | None = None
    for item in sources:
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(item.text.split())):
            words = sentence.split()
            if not 6 <= len(words) <= max_words or sentence.startswith(("#", "|", "-", "*", "`")):
                continue
            terms = set(re.findall(r"[a-z]{4,}", sentence.lower()))
            score = len(terms & wanted) + 0.5 * item.score + (0.3 if sentence[-1] in ".!?" else 0)
            if best is None or score > best[0]:
                best = (score, sentence, item.n)
    if best is None:
        return None
    sentence = best[1] if best[1][-1] in ".!?" else best[1] + "."
    return f"> {sentence[:-1]} [{best[2]}]{sentence[-1]}"


def assemble(blueprint: Blueprint, written: list[WrittenSection], evidence: dict[int, Evidence]) -> tuple[str, list]:
    """The Markdown body (``## heading`` per section, renumbered citations, References) and the reference lines."""
    texts, references = renumber([w.text for w in written], evidence)
    parts = [f"## {w.heading}\n\n{text}".rstrip() for w, text in zip(written, texts, strict=True)]
    block = references_block(references)
    if block:
        parts.append(block)
    return "\n\n".join(parts).strip() + "\n", references


def front_matter_for(blueprint: Blueprint) -> dict[str, Any]:
    """dev.to front matter of a generated post (never published; disclosed as fully autonomous)."""
    return {
        "title": blueprint.title[:128],
        "description": blueprint.description,
        "tags": list(blueprint.tags[:4]),
        "published": False,
        "ai_disclosure_level": "fully_autonomous",
    }


def section_headings(body: str) -> list[str]:
    """The ``## `` headings of a post body (References excluded)."""
    text, _refs = split_references(body)
    return [m.group(1).strip() for m in re.finditer(r"^## (.+)$", text, flags=re.MULTILINE)]


def replace_section(body: str, heading: str, new_text: str, new_evidence: dict[int, Evidence]) -> tuple[str, list]:
    """Put ``new_text`` (citing evidence numbers) under ``heading`` and rebuild the citations and References.

    Existing citations keep pointing at the same source documents; sources no longer cited leave References.
    """
    text, references = split_references(body)
    blocks = re.split(r"(?m)^(?=## )", text)
    target = next((i for i, b in enumerate(blocks) if b.startswith("## ") and _heading(b) == heading), None)
    if target is None:
        raise LookupError(f"the draft has no section '{heading}'")
    offset = 500  # old reference k becomes evidence 500+k (citations are at most 3 digits)
    merged: dict[int, Evidence] = {}
    old_numbers: dict[int, int] = {}
    for line in references:
        match = re.match(r"\[(\d+)\]\s*(.+)$", line.strip())
        if not match:
            continue
        k, rest = int(match.group(1)), match.group(2).strip()
        name, _, where = rest.partition(" — ")
        merged[offset + k] = Evidence(n=offset + k, text="", source_id=-(k), source_name=name.strip(), location=where)
        old_numbers[k] = offset + k
    for item in new_evidence.values():
        existing = next((e for e in merged.values() if e.source_name == item.source_name and e.n >= offset), None)
        merged[item.n] = item.model_copy(update={"source_id": existing.source_id}) if existing else item

    def shift(match: re.Match) -> str:
        return "".join(f"[{old_numbers[int(n)]}]" for n in re.findall(r"\d+", match.group(0)) if int(n) in old_numbers)

    from editorial.chain.citations import CITATION

    shifted = [CITATION.sub(shift, block) if i != target else block for i, block in enumerate(blocks)]
    shifted[target] = f"## {heading}\n\n{new_text.strip()}\n\n"
    rebuilt, new_refs = renumber(["".join(shifted)], merged)
    body_text = rebuilt[0].rstrip()
    block = references_block(_merge_locations(new_refs))
    return (body_text + ("\n\n" + block if block else "")).strip() + "\n", new_refs


def _merge_locations(references: list[str]) -> list[str]:
    return [re.sub(r" — $", "", line) for line in references]


def _heading(block: str) -> str:
    return block.splitlines()[0][3:].strip()
