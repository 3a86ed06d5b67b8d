"""Ground a blueprint in its evidence: titles, description, headings, key points and tags are checked like sentences.

Whatever made the plan (a model's structured output, the piecewise prompts, the fallback outline):

- a title may not introduce a name, number or identifier the sources (or the editor's topic) lack, and must share a
  word with the topic; when none survives, the topic itself makes the title;
- a body heading needs a passage that supports it (its words, names and numbers found in one passage), no
  unknown term, and no name the topic and title lack ("What is TensorFlow?" in a post on PyTorch); otherwise a
  heading of the sources (a passage's location, e.g. ``Guide > Pipelines``) that is about the topic takes its
  place, or the section is dropped;
- key points with unknown terms are dropped; the description and tags obey the same rule.

Every change is reported in the plan's notes, so the editor sees what was replaced and why.
"""

from __future__ import annotations

import itertools
import re

from editorial.chain.schemas import MIN_SECTIONS, Blueprint, Evidence, Section, normalize_tag
from editorial.grounding.verify import STOPWORDS, content_words, stem, support_score
from editorial.grounding.vocabulary import SourceVocabulary, checkable_terms, common_words

HEADING_SUPPORT = 0.5
"""A heading is supported when this share of its words/names occurs in one passage (as for sentences)."""


def _unknown(text: str, vocabulary: SourceVocabulary) -> list[str]:
    return vocabulary.unknown(checkable_terms(text))


def sentence_case(title: str) -> str:
    """A Title Case line with its ordinary words lower-cased, so only real names stay capitalised."""
    common = common_words()

    def ordinary(word: str) -> bool:
        bare = word.strip(".,:;!?()'\"").lower()
        return bare in common or stem(bare) in common or stem(bare) + "e" in common

    return " ".join(w.lower() if ordinary(w) and not w.isupper() else w for w in title.split(" "))


def _title_unknown(text: str, vocabulary: SourceVocabulary) -> list[str]:
    return _unknown(sentence_case(text), vocabulary)


def _about(text: str, topic_words: set[str]) -> bool:
    return bool(set(content_words(text)) & topic_words) if topic_words else True


def foreign_names(heading: str, about: str, ordinary: set[str] = frozenset()) -> list[str]:
    """Names in ``heading`` that ``about`` (the topic and title) does not mention.

    A post on PyTorch had sections "What is Tensorflow?" and "How to use TensorFlow to train models on GPUs": both
    names are in the sources (so not invented), but a heading that steers a post to another product is off-topic.
    A capitalised word the sources also write in lower case (``ordinary``: "Embedding Models Compared") is a word.
    """
    lowered = about.lower()
    return [
        term
        for term in checkable_terms(sentence_case(heading))
        if re.fullmatch(r"[A-Z][A-Za-z]*[a-z][A-Za-z]*", term)  # a name; not an acronym, version or identifier
        and term.lower() not in lowered
        and term.lower() not in ordinary
    ]


def heading_support(heading: str, evidence: list[Evidence]) -> tuple[float, int | None]:
    """The best support of ``heading`` by one passage, and that passage's number."""
    best, number = 0.0, None
    for item in evidence:
        score = support_score(heading, item.text)
        if score > best:
            best, number = score, item.n
    return best, number


def source_headings(evidence: list[Evidence], topic_words: set[str]) -> list[tuple[str, int]]:
    """Headings of the sources, topic-related ones first.

    Each is the deepest part of a passage's location below its document's title, emoji left out.
    """
    found: list[tuple[str, int, bool]] = []
    seen: set[str] = set()
    for item in evidence:
        parts = [p.strip() for p in re.split(r">|/|›", item.location or "") if p.strip()]
        for part in reversed(parts[1:]):  # a document's own title ("Welcome to X", "X API guide") heads no section
            text = " ".join(re.sub(r"[`*_#]+|[^\x00-\u024f]", "", part).split()).strip(" :-")
            if not 2 <= len(text.split()) <= 10 or re.search(r"\bpage \d+\b", text, re.I) or text.lower() in seen:
                continue
            seen.add(text.lower())
            found.append((text[:1].upper() + text[1:], item.n, _about(text, topic_words)))
            break
    found.sort(key=lambda row: not row[2])
    return [(text, n) for text, n, _ in found]


def key_phrases(evidence: list[Evidence], limit: int = 8) -> list[tuple[str, int]]:
    """Two-word phrases that recur across passages (e.g. ``Embedding Models``), most widespread first."""
    where: dict[tuple[str, str], set[int]] = {}
    shown: dict[tuple[str, str], str] = {}
    for item in evidence:
        words = re.findall(r"[A-Za-z][A-Za-z-]+", item.text)
        for a, b in itertools.pairwise(words):
            if a.lower() in STOPWORDS or b.lower() in STOPWORDS or len(a) < 4 or len(b) < 4:
                continue
            key = (stem(a), stem(b))
            where.setdefault(key, set()).add(item.n)
            shown.setdefault(key, f"{a[:1].upper()}{a[1:]} {b[:1].upper()}{b[1:]}")
    ranked = sorted((k for k, ns in where.items() if len(ns) >= 2), key=lambda k: -len(where[k]))
    return [(shown[k], min(where[k])) for k in ranked[:limit]]


def ground_blueprint(
    blueprint: Blueprint, topic: str, evidence: list[Evidence], *, vocabulary: SourceVocabulary | None = None
) -> tuple[Blueprint, list[str]]:
    """The blueprint with every title, heading, point, description and tag grounded in ``evidence``; and notes.

    ``vocabulary`` is the collection's (names/numbers anywhere in its sources); by default, the evidence's.
    """
    if not evidence:
        return blueprint, []
    vocabulary = vocabulary or SourceVocabulary.from_texts([item.text for item in evidence])
    vocabulary.add_text(topic)
    topic_words = set(content_words(topic))
    notes: list[str] = []

    titles = [t for t in blueprint.title_candidates if not _title_unknown(t, vocabulary) and _about(t, topic_words)]
    if len(titles) < len(blueprint.title_candidates):
        gone = [t for t in blueprint.title_candidates if t not in titles]
        notes.append(
            "Title candidates not grounded in the sources or not about the topic were dropped: " + "; ".join(gone)
        )
    plain_topic = topic.strip().rstrip(".")
    topic_heading = plain_topic[:1].upper() + plain_topic[1:]  # the editor's own words, capitalised
    if not titles:
        titles = [f"{topic_heading or 'The topic'}: What the Sources Say"[:128]]

    ordinary = {word for item in evidence for word in re.findall(r"(?<![\w.])[a-z][a-z-]+(?![\w.])", item.text)}
    used: set[str] = {s.heading.lower() for s in blueprint.sections if s.kind != "body"}
    planned = [s.heading.lower() for s in blueprint.sections]
    candidates = [
        (h, n)
        for h, n in source_headings(evidence, topic_words)
        if not any(h.lower() in p or p in h.lower() for p in planned)
    ]
    sections: list[Section] = []
    for section in blueprint.sections:
        if section.kind != "body":
            sections.append(_clean_points(section, vocabulary))
            continue
        score, number = heading_support(section.heading, evidence)
        unknown = _title_unknown(section.heading, vocabulary)
        foreign = [] if unknown else foreign_names(section.heading, f"{topic} {titles[0]}", ordinary)
        if not unknown and not foreign and score >= HEADING_SUPPORT and section.heading.lower() not in used:
            used.add(section.heading.lower())
            sections.append(_clean_points(section, vocabulary, number))
            continue
        replacement = next(((h, n) for h, n in candidates if h.lower() not in used), None)
        why = (
            f"not in the sources: {', '.join(unknown)}"
            if unknown
            else f"names what the topic does not: {', '.join(foreign)}"
            if foreign
            else f"no passage supports it ({score:.2f})"
        )
        if replacement is None:
            if sum(1 for s in blueprint.sections if s.kind != "body") + len(bodies_left(sections)) + 1 > MIN_SECTIONS:
                notes.append(f"Section '{section.heading}' was dropped: {why}.")
                continue
            if (unknown or foreign) and topic_heading and topic_heading.lower() not in used:  # a name not to print
                used.add(topic_heading.lower())
                notes.append(f"Heading '{section.heading}' ({why}) was replaced by the topic '{topic_heading}'.")
                update = {"heading": topic_heading[:120], "key_points": [topic_heading]}
                sections.append(section.model_copy(update=update))
                continue
            notes.append(
                f"Section '{section.heading}' is kept for the editor to fix ({why}); only verified facts "
                "will be written under it."
            )
            sections.append(_clean_points(section, vocabulary))
            continue
        heading, n = replacement
        used.add(heading.lower())
        notes.append(f"Heading '{section.heading}' ({why}) was replaced by the source heading '{heading}'.")
        points = [heading]
        sections.append(section.model_copy(update={"heading": heading, "key_points": points, "evidence": [n]}))
    bodies = [s for s in sections if s.kind == "body"]
    if not bodies:
        notes.append("No heading of the plan is supported by the sources; the outline was kept for the editor to fix.")
        return blueprint.model_copy(update={"title_candidates": titles}), notes
    if len(sections) < min(MIN_SECTIONS, len(blueprint.sections)):
        notes.append(f"The plan has {len(sections)} sections: the sources support no more.")

    description = blueprint.description
    if description and (_unknown(description, vocabulary) or not _about(description, topic_words)):
        notes.append("The description was not grounded in the sources and was rewritten from the topic.")
        description = f"What the sources say about {topic.strip()}: " + ", ".join(s.heading for s in bodies[:3])
    tags = [t for t in blueprint.tags if vocabulary.contains(t) or t in {normalize_tag(w) for w in topic.split()}]
    update = {
        "title_candidates": titles[:5],
        "sections": _rebudget(sections, blueprint),
        "description": description[:300],
        "tags": tags,
        "angle": "" if _unknown(blueprint.angle, vocabulary) else blueprint.angle,
        "value": "" if _unknown(blueprint.value, vocabulary) else blueprint.value,
        "conclusion": "" if _unknown(blueprint.conclusion, vocabulary) else blueprint.conclusion,
        "takeaways": [t for t in blueprint.takeaways if not _unknown(t, vocabulary)],
    }
    return blueprint.model_copy(update=update), notes


def bodies_left(sections: list[Section]) -> list[Section]:
    """The body sections kept so far."""
    return [s for s in sections if s.kind == "body"]


def _clean_points(section: Section, vocabulary: SourceVocabulary, number: int | None = None) -> Section:
    points = [p for p in section.key_points if not _unknown(p, vocabulary)] or [section.heading]
    evidence = section.evidence if number is None or number in section.evidence else [number, *section.evidence]
    return section.model_copy(update={"key_points": points, "evidence": evidence[:4]})


def _rebudget(sections: list[Section], blueprint: Blueprint) -> list[Section]:
    """Give dropped sections' words to the others, so budgets still sum to the target."""
    total = sum(s.words for s in sections)
    if total == blueprint.target_words or not sections:
        return sections
    scale = blueprint.target_words / total
    out = [s.model_copy(update={"words": max(40, round(s.words * scale))}) for s in sections]
    drift = blueprint.target_words - sum(s.words for s in out)
    out[-1] = out[-1].model_copy(update={"words": max(40, out[-1].words + drift)})
    return out
