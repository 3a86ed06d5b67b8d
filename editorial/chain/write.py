"""Write: one section at a time from facts chosen from its own retrieval, every sentence verified and cited."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from editorial.chain.calls import CallSite, ChatTarget
from editorial.chain.citations import CITATION, cited_numbers, references_block, renumber, split_references
from editorial.chain.compose import SectionDraft, WritingContext, compose_section
from editorial.chain.research import MIN_SCORE, EvidenceRegistry, Search
from editorial.chain.schemas import Blueprint, Evidence, Section, WrittenSection
from editorial.chain.text import count_words
from editorial.grounding.facts import Fact, select_facts
from editorial.grounding.schemas import Passage

SOURCES_PER_SECTION = 4
MAX_SOURCES_PER_SECTION = 64
"""A section whose passages run out of facts reads more of its retrieval, four passages at a time, up to this."""
WORDS_PER_FACT = 18
"""About how many published words one fact becomes (one sentence)."""
SPARE_FACTS = 2
"""Extra facts per section, for the ones that fail verification."""
FRAMING_FACTS = 3
"""Most facts an introduction or conclusion takes (they frame the post; the body carries the facts)."""
FACT_ROUNDS = 8
"""Rounds of fact selection per body section while it is under 80% of its budget and facts are left (about a third
of the facts tried become kept sentences; 10-topic benchmark, session 6: 4 rounds of up to 16 passages 1,111 words,
6 of 32 1,513, 8 of 64 1,590)."""


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


def wanted_facts(section: Section, words: int) -> int:
    """How many facts a round of ``section`` tries for ``words`` words (framing sections take few)."""
    count = math.ceil(max(0, words) / WORDS_PER_FACT) + SPARE_FACTS
    if section.kind != "body":  # the introduction and conclusion frame the post; the facts belong to the body
        count = min(count, FRAMING_FACTS)
    return count


def section_facts(
    section: Section,
    sources: list[Evidence],
    context: WritingContext,
    topic: str = "",
    *,
    words: int | None = None,
    post_topic: str = "",
) -> list[Fact]:
    """The facts a section will carry: the best, diverse source sentences for its heading and key points.

    ``topic`` (the post's title) joins the query; ``post_topic`` (the topic the editor asked for, else ``topic``)
    is what every fact must be about. ``words`` is how many words they should make (the section's budget unless a
    first round fell short).
    """
    query = " ".join([topic, section.heading, *section.key_points]).strip()
    count = wanted_facts(section, section.words if words is None else words)
    return select_facts(
        query,
        sources,
        count=count,
        embed=context.embed,
        used=context.duplicates,
        tried=context.tried,
        topic=post_topic or topic,
    )


def write_section(
    target: ChatTarget,
    blueprint: Blueprint,
    index: int,
    sources: list[Evidence],
    *,
    site: CallSite,
    tone: str = "",
    on_token: Callable[[str], None] = lambda text: None,
    context: WritingContext | None = None,
    widen: Callable[[int], list[Evidence]] | None = None,
    post_topic: str = "",
) -> WrittenSection:
    """Write one section from facts chosen first, keeping only verified, cited sentences.

    Citations are the post-wide evidence numbers of the facts. A section the facts cannot fill stays short (its
    ``notes`` say so); a section with no usable fact is empty and the runner leaves it out. ``widen(limit)``
    gives the section's first ``limit`` passages: when its passages hold fewer facts than a round needs, the
    writer reads further down its retrieval (up to :data:`MAX_SOURCES_PER_SECTION` passages). ``post_topic`` is
    the topic the editor asked for: facts off it are not used (default: the post's title).
    """
    section = blueprint.sections[index]
    context = context or WritingContext.build([item.text for item in sources])
    context.add_sources(item.text for item in sources)
    facts: list[Fact] = []
    draft = None
    sources = list(sources)
    for _round in range(FACT_ROUNDS):  # more rounds while verification leaves the section short
        budget = section.words - (draft.words if draft else 0)
        more = section_facts(section, sources, context, blueprint.title, words=budget, post_topic=post_topic)
        while (
            widen is not None and len(more) < wanted_facts(section, budget) and len(sources) < MAX_SOURCES_PER_SECTION
        ):
            wider = [item for item in widen(len(sources) + SOURCES_PER_SECTION) if item not in sources]
            if not wider:
                break
            sources += wider
            context.add_sources(item.text for item in wider)
            more = section_facts(section, sources, context, blueprint.title, words=budget, post_topic=post_topic)
        if not more:
            break
        facts += more
        written = compose_section(
            target,
            more,
            topic=section.heading,
            context_line=f"Section {index + 1} of {len(blueprint.sections)}: {section.heading}",
            budget=budget,
            site=site,
            context=context,
            stage=f"section {index + 1}",
            on_token=on_token,
        )
        draft = draft.extended(written) if draft else written
        if draft.words >= section.words * 0.8 or section.kind != "body":
            break
    draft = draft or SectionDraft("", [])
    words = count_words(draft.text)
    notes: list[str] = []
    if words == 0:
        notes.append(f"Section '{section.heading}' was left out: its sources gave no fact that could be verified.")
    elif words < section.words * 0.8:
        notes.append(
            f"Section '{section.heading}' is short ({words} of {section.words} words): its sources supported no more."
        )
    return WrittenSection(
        heading=section.heading,
        text=draft.text,
        budget=section.words,
        words=words,
        cited=cited_numbers(draft.text),
        quoted=any(k.origin == "quote" for k in draft.kept),
        facts=len(facts),
        dropped_facts=draft.dropped,
        origins={
            origin: sum(1 for k in draft.kept if k.origin == origin)
            for origin in ("model", "retry", "paraphrase", "quote")
        },
        rejected=draft.rejected[:20],
        notes=notes,
    )


def assemble(blueprint: Blueprint, written: list[WrittenSection], evidence: dict[int, Evidence]) -> tuple[str, list]:
    """The Markdown body (``## heading`` per section, renumbered citations, References) and the reference lines.

    Sections left empty (no verified sentence) are left out.
    """
    written = [w for w in written if w.text.strip()]
    texts, references = renumber([w.text for w in written], evidence)
    parts = [f"## {w.heading}\n\n{text}".rstrip() for w, text in zip(written, texts, strict=True)]
    block = references_block(references)
    if block:
        parts.append(block)
    return "\n\n".join(parts).strip() + "\n", references


def final_passages(written: list[WrittenSection], evidence: dict[int, Evidence]) -> dict[int, Passage]:
    """The passage behind each final citation number of :func:`assemble`'s body (one per cited source document).

    Final numbers are per source document in order of first use (as in References); a number's passage text joins
    every cited passage of that document, so the verifier checks a sentence against what its [k] stands for.
    """
    numbers: dict[int, int] = {}
    passages: dict[int, Passage] = {}
    used: dict[int, list[int]] = {}
    for w in written:
        if not w.text.strip():
            continue
        for n in cited_numbers(w.text):
            item = evidence.get(n)
            if item is None:
                continue
            k = numbers.setdefault(item.source_id, len(numbers) + 1)
            chunks = used.setdefault(k, [])
            if n not in chunks:
                chunks.append(n)
            previous = passages.get(k)
            locations = [x for x in ((previous.location.split("; ") if previous else []) + [item.location]) if x]
            passages[k] = Passage(
                n=k,
                text="\n\n".join(evidence[c].text for c in chunks),
                source_id=item.source_id,
                source_name=item.source_name,
                location="; ".join(dict.fromkeys(locations)),
            )
    return passages


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


def replace_section(
    body: str,
    heading: str,
    new_text: str,
    new_evidence: dict[int, Evidence],
    old_passages: dict[int, Passage] | None = None,
) -> tuple[str, list, dict[int, Passage]]:
    """Put ``new_text`` (citing evidence numbers) under ``heading`` and rebuild the citations and References.

    Existing citations keep pointing at the same source documents; sources no longer cited leave References.

    Returns:
        The new body, its References lines, and the passage behind each final citation number (old citations
        keep the text of ``old_passages``, the draft's previous passages by their old numbers), for the verifier.
    """
    old_passages = old_passages or {}
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
        previous = old_passages.get(k)
        merged[offset + k] = Evidence(
            n=offset + k,
            text=previous.text if previous else "",
            source_id=-(k),
            source_name=name.strip(),
            location=where,
        )
        old_numbers[k] = offset + k
    for item in new_evidence.values():
        existing = next((e for e in merged.values() if e.source_name == item.source_name and e.n >= offset), None)
        merged[item.n] = item.model_copy(update={"source_id": existing.source_id}) if existing else item

    def shift(match: re.Match) -> str:
        return "".join(f"[{old_numbers[int(n)]}]" for n in re.findall(r"\d+", match.group(0)) if int(n) in old_numbers)

    shifted = [CITATION.sub(shift, block) if i != target else block for i, block in enumerate(blocks)]
    shifted[target] = f"## {heading}\n\n{new_text.strip()}\n\n"
    rebuilt, new_refs = renumber(["".join(shifted)], merged)
    passages = final_passages([WrittenSection(heading="", text="".join(shifted), budget=0, words=0)], merged)
    body_text = rebuilt[0].rstrip()
    block = references_block(_merge_locations(new_refs))
    return (body_text + ("\n\n" + block if block else "")).strip() + "\n", new_refs, passages


def _merge_locations(references: list[str]) -> list[str]:
    return [re.sub(r" — $", "", line) for line in references]


def _heading(block: str) -> str:
    return block.splitlines()[0][3:].strip()
