"""Plan: turn topic and evidence into a valid :class:`Blueprint`, from any backend.

Backends with native structured output are asked for the whole outline as JSON. Every other backend (the
135M embedded model above all) is asked for small pieces in a one-line format shown by example — section
headings, a title line, key points per section, takeaways — each parsed and validated in code, with one
repair call when a piece is unusable. When the headings stay unusable, the plan is a clearly labelled
fallback outline built from the research questions (``is_fallback=True``). The stage never raises for a bad
answer; it only raises for cancellation or a failing backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel, Field, ValidationError

from editorial.chain import prompts
from editorial.chain.calls import CallSite, ChatTarget, invoke_reply, invoke_text, messages_for
from editorial.chain.plan_grounding import ground_blueprint
from editorial.chain.schemas import (
    MAX_SECTIONS,
    MIN_SECTION_WORDS,
    MIN_SECTIONS,
    Blueprint,
    Evidence,
    ResearchResult,
    Section,
    normalize_tag,
)
from editorial.grounding.vocabulary import SourceVocabulary

_NUMBERING = re.compile(r"^\s*(?:(?:[-*•]+|\d{1,2}\s*[.):-]|#+|section\s+\d+\s*[:.-])\s*)+", re.IGNORECASE)
_FIELD = re.compile(r"^\s*[*_]*(title|description|angle|value|conclusion)[*_]*\s*[:\-–]\s*(.+?)\s*$", re.IGNORECASE)
_FRAME_WORDS = re.compile(
    r"^(introduction|intro|conclusion|conclusions|summary|final thoughts|wrapping up|closing thoughts|references)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "how",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "the",
        "to",
        "what",
        "when",
        "why",
        "with",
        "your",
        "you",
        "vs",
        "using",
        "use",
        "guide",
        "introduction",
        "about",
        "this",
        "that",
    ]
)

INTRO_HEADING = "Introduction"
CONCLUSION_HEADING = "Conclusion"
HEADING_TOKENS = 110
FRAMING_TOKENS = 110
POINTS_TOKENS = 60
TAKEAWAYS_TOKENS = 80


class OutlineSection(BaseModel):
    """A section as asked from a structured-output backend."""

    heading: str
    key_points: list[str] = Field(default_factory=list)


class PlanOutline(BaseModel):
    """The outline asked from a structured-output backend; code adds budgets and evidence."""

    title_candidates: list[str]
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    angle: str = ""
    value: str = ""
    sections: list[OutlineSection]
    conclusion: str = ""
    takeaways: list[str] = Field(default_factory=list)


@dataclass
class PlanOutcome:
    """The blueprint and how it came to be."""

    blueprint: Blueprint
    is_fallback: bool
    notes: list[str] = field(default_factory=list)
    """What was repaired or filled in by code, shown next to the plan."""
    repairs: int = 0


@dataclass
class PlanRequest:
    """What the editor asked for."""

    topic: str
    audience: str = "developers"
    tone: str = "practical"
    target_words: int = 1500


# --------------------------------------------------------------------------- budgets and checks
def body_section_count(target_words: int) -> int:
    """How many body sections (between introduction and conclusion) suit the target length: 3 to 5."""
    return max(MIN_SECTIONS - 2, min(MAX_SECTIONS - 2, round(target_words / 350)))


def allocate_budgets(sections: list[Section], target_words: int) -> list[Section]:
    """Word budgets summing exactly to ``target_words``: about 10% each for introduction and conclusion."""
    if not sections:
        return sections
    frames = [s for s in sections if s.kind != "body"]
    frame_words = max(MIN_SECTION_WORDS, round(target_words * 0.1))
    body_count = len(sections) - len(frames)
    remaining = target_words - frame_words * len(frames)
    if body_count == 0 or remaining < MIN_SECTION_WORDS * body_count:
        return rescale_budgets([s.model_copy(update={"words": 1}) for s in sections], target_words, equal=True)
    share, extra = divmod(remaining, body_count)
    out, seen_body = [], 0
    for section in sections:
        if section.kind == "body":
            words = share + (1 if seen_body < extra else 0)
            seen_body += 1
        else:
            words = frame_words
        out.append(section.model_copy(update={"words": words}))
    return out


def rescale_budgets(sections: list[Section], target_words: int, *, equal: bool = False) -> list[Section]:
    """Scale budgets proportionally (or equally) so they sum to ``target_words``, none under the minimum."""
    if not sections:
        return sections
    weights = [1 if equal else max(1, s.words) for s in sections]
    total = sum(weights)
    words = [max(MIN_SECTION_WORDS, int(target_words * w / total)) for w in weights]
    diff = target_words - sum(words)
    order = sorted(range(len(words)), key=lambda i: -words[i])
    i = 0
    while diff != 0 and i < 10_000:
        index = order[i % len(order)]
        step = 1 if diff > 0 else -1
        if words[index] + step >= MIN_SECTION_WORDS:
            words[index] += step
            diff -= step
        i += 1
    return [s.model_copy(update={"words": w}) for s, w in zip(sections, words, strict=True)]


def blueprint_problems(blueprint: Blueprint) -> list[str]:
    """Why a blueprint is not ready to write from (empty when it is)."""
    problems = []
    if not MIN_SECTIONS <= len(blueprint.sections) <= MAX_SECTIONS:
        problems.append(f"{len(blueprint.sections)} sections; a post needs {MIN_SECTIONS}-{MAX_SECTIONS}.")
    if blueprint.budget_total != blueprint.target_words:
        problems.append(f"Section budgets sum to {blueprint.budget_total}, not the target {blueprint.target_words}.")
    for section in blueprint.sections:
        if not section.key_points:
            problems.append(f"'{section.heading}' has no key points.")
    if not blueprint.title.strip():
        problems.append("No title.")
    return problems


# --------------------------------------------------------------------------- parsing model answers
def _strip_item(line: str) -> str:
    line = _NUMBERING.sub("", line.strip())
    line = line.strip().strip("*_`\"'“”").strip()
    return re.sub(r"\s+", " ", line).rstrip(":").strip()


def _similar(a: str, b: str) -> bool:
    """True when two headings share most of their words (near-duplicates)."""
    wa, wb = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= 0.6


def parse_headings(text: str, topic: str = "", *, truncated: bool = False) -> list[str]:
    """Section headings from a numbered or bulleted list; prose, near-duplicates and framing lines are dropped.

    When the answer was cut by the token limit, its last line is dropped (it may be a half heading).
    """
    headings: list[str] = []
    lines = text.splitlines()
    if truncated and lines:
        lines = lines[:-1]
    for raw in lines:
        if not raw.strip() or _FIELD.match(raw):
            continue
        line = _strip_item(raw)
        words = line.split()
        if not 2 <= len(words) <= 12 or len(line) > 90 or len(line) < 4:
            continue
        if line.endswith(".") and len(words) > 6:
            continue  # a sentence, not a heading
        if _FRAME_WORDS.match(line) or line.lower() == topic.strip().lower() or "heading" in line.lower():
            continue
        heading = line[0].upper() + line[1:]
        if not any(_similar(heading, other) for other in headings):
            headings.append(heading)
    return headings


def parse_fields(text: str) -> dict[str, str]:
    """``Title:``, ``Description:``, ``Angle:``, ``Value:`` and ``Conclusion:`` lines (first of each)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _FIELD.match(line)
        if match:
            key, value = match.group(1).lower(), match.group(2).strip().strip("*_\"'“”").strip()
            if value and key not in found:
                found[key] = value
    return found


def parse_points(text: str, limit: int = 3, *, truncated: bool = False) -> list[str]:
    """Key points from a bulleted list; when there is none, the first short, finished sentences of the prose."""
    points: list[str] = []
    lines = text.splitlines()
    if truncated and len(lines) > 1:
        lines = lines[:-1]
    for raw in lines:
        if re.match(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+", raw):
            point = _strip_item(raw)
            if 3 <= len(point) <= 160 and point.lower() not in {p.lower() for p in points}:
                points.append(point)
    if not points:
        prose = " ".join(_strip_item(line) for line in lines if line.strip() and not _FIELD.match(line))
        for sentence in re.split(r"(?<=[.!?])\s+", prose):
            sentence = sentence.strip()
            if 20 <= len(sentence) <= 160 and sentence[-1] in ".!?":
                points.append(sentence.rstrip("."))
            if len(points) >= 2:
                break
    return points[:limit]


_NEXT_FIELD = re.compile(
    r"[\"”]?\s*\b(?:description|subtitle|summary|tags?|keywords|author|date|headings?|sections?|outline)\s*:.*$",
    re.IGNORECASE | re.DOTALL,
)


def _valid_title(title: str | None) -> str | None:
    if not title:
        return None
    title = re.sub(r"^(title\s*:\s*)+", "", title.strip(), flags=re.IGNORECASE)
    title = _NEXT_FIELD.sub("", title)  # 'Tensors in PyTorch" Description: A primer …': the next field ran on
    title = title.strip().strip("#*_\"'“”").strip()
    if re.search(r"[;|]|[.!?]\s+\S", title):  # several titles (or headings) run together
        return None
    return title if 8 <= len(title) <= 128 and 2 <= len(title.split()) <= 16 else None


# --------------------------------------------------------------------------- evidence per section
def _terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def notes_from(evidence: list[Evidence], limit: int = 4, chars: int = 140) -> str:
    """Short bullet notes from the best passages (the planner's view of the evidence)."""
    lines = []
    for item in sorted(evidence, key=lambda e: -e.score)[:limit]:
        text = " ".join(item.text.split())
        first = re.split(r"(?<=[.!?])\s+", text)[0]
        if len(first) > chars:
            first = first[:chars].rsplit(" ", 1)[0]
        lines.append(f"- {first}")
    return "\n".join(lines) or "- (no notes)"


def assign_evidence(sections: list[Section], evidence: list[Evidence], per_section: int = 3) -> list[Section]:
    """Give each section the passages whose words overlap its heading and points most (introduction: the best)."""
    if not evidence:
        return sections
    best_overall = [e.n for e in sorted(evidence, key=lambda e: -e.score)[:2]]
    out = []
    for section in sections:
        if section.kind == "intro":
            chosen = best_overall
        else:
            wanted = _terms(" ".join([section.heading, *section.key_points]))
            scored = []
            for item in evidence:
                overlap = len(wanted & _terms(item.text)) / (len(wanted) or 1)
                scored.append((overlap + 0.1 * item.score, item.n))
            scored.sort(reverse=True)
            chosen = [n for score, n in scored[:per_section] if score > 0.05] or best_overall[:1]
        out.append(section.model_copy(update={"evidence": chosen}))
    return out


def topic_tags(topic: str, headings: list[str]) -> list[str]:
    """Up to four dev.to tags from the topic's (then the headings') distinctive words."""
    tags: list[str] = []
    for text in [topic, *headings]:
        for word in _WORD.findall(text.lower()):
            tag = normalize_tag(word)
            if tag and tag not in _STOP and len(tag) > 2 and tag not in tags:
                tags.append(tag)
            if len(tags) == 4:
                return tags
    return tags


def _default_title(topic: str) -> str:
    topic = topic.strip().rstrip(".")
    return f"{topic[0].upper()}{topic[1:]}: A Practical Guide"[:128] if topic else "A Practical Guide"


# --------------------------------------------------------------------------- the stage
def plan_blueprint(
    target: ChatTarget,
    request: PlanRequest,
    research: ResearchResult,
    *,
    site: CallSite,
    vocabulary: SourceVocabulary | None = None,
) -> PlanOutcome:
    """Make the blueprint for ``request`` from ``research`` with ``target``, then ground it in the evidence.

    See the module docstring; :func:`editorial.chain.plan_grounding.ground_blueprint` checks titles, headings,
    points, description and tags against the evidence, whatever made them.
    """
    outcome = _structured_plan(target, request, research, site) if target.structured_output else None
    if outcome is None:
        outcome = _piecewise_plan(target, request, research, site)
    blueprint, notes = ground_blueprint(outcome.blueprint, request.topic, research.evidence, vocabulary=vocabulary)
    return PlanOutcome(blueprint, outcome.is_fallback, [*outcome.notes, *notes], outcome.repairs)


def _finish(
    request: PlanRequest,
    research: ResearchResult,
    *,
    titles: list[str],
    description: str,
    angle: str,
    value: str,
    tags: list[str],
    body: list[Section],
    conclusion: str,
    takeaways: list[str],
    is_fallback: bool,
) -> Blueprint:
    intro_points = [p for p in (angle, value) if p] or [f"Why {request.topic} matters to {request.audience}"]
    outro_points = takeaways[:3] or [conclusion or f"What to do next with {request.topic}"]
    sections = [
        Section(heading=INTRO_HEADING, key_points=intro_points[:3], kind="intro"),
        *body,
        Section(heading=CONCLUSION_HEADING, key_points=outro_points, kind="conclusion"),
    ]
    sections = assign_evidence(allocate_budgets(sections, request.target_words), research.evidence)
    return Blueprint(
        title_candidates=titles[:5],
        description=description[:300],
        angle=angle,
        audience=request.audience,
        value=value,
        tags=tags or topic_tags(request.topic, [s.heading for s in body]),
        sections=sections,
        conclusion=conclusion,
        takeaways=takeaways[:5],
        target_words=request.target_words,
        is_fallback=is_fallback,
    )


def _structured_plan(target: ChatTarget, request: PlanRequest, research: ResearchResult, site: CallSite):
    """Ask a structured-output backend for the outline; one repair call; None when it stays unusable."""
    notes = notes_from(research.evidence, limit=6)
    user = prompts.STRUCTURED_PLAN_USER.format(
        topic=request.topic,
        audience=request.audience,
        tone=request.tone,
        words=request.target_words,
        notes=notes,
        min_sections=MIN_SECTIONS,
        max_sections=MAX_SECTIONS,
    )
    messages = messages_for(prompts.PLANNER_SYSTEM, user)
    problem = ""
    for attempt, stage in enumerate(("plan", "repair")):
        site.check()
        try:
            runnable = target.model.with_structured_output(PlanOutline)
            outline = runnable.invoke(messages, config=site.config(target, stage))
            if isinstance(outline, dict):
                outline = PlanOutline.model_validate(outline)
            body = [
                Section(heading=s.heading, key_points=s.key_points[:3] or [s.heading])
                for s in outline.sections
                if not _FRAME_WORDS.match(s.heading.strip())
            ][: MAX_SECTIONS - 2]
            if len(body) < MIN_SECTIONS - 2:
                raise ValueError(f"only {len(body)} body sections")
            titles = [t for t in (_valid_title(t) for t in outline.title_candidates) if t]
            if not titles:
                raise ValueError("no usable title")
            blueprint = _finish(
                request,
                research,
                titles=titles,
                description=outline.description,
                angle=outline.angle,
                value=outline.value,
                tags=outline.tags,
                body=body,
                conclusion=outline.conclusion,
                takeaways=outline.takeaways,
                is_fallback=False,
            )
            notes_out = [f"Repaired after: {problem}"] if attempt else []
            return PlanOutcome(blueprint, False, notes_out, repairs=attempt)
        except (ValidationError, ValueError, TypeError, KeyError) as exc:
            problem = str(exc).splitlines()[0][:200]
            messages = [*messages_for(prompts.PLANNER_SYSTEM, user)]
            messages[-1].content += f"\n\nYour last answer was unusable ({problem}). Follow the schema exactly."
        except Exception as exc:  # the backend refused structured output: plan piece by piece instead
            problem = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
            break
    return None


def _piecewise_plan(target: ChatTarget, request: PlanRequest, research: ResearchResult, site: CallSite) -> PlanOutcome:
    notes_log: list[str] = []
    repairs = 0
    wanted = body_section_count(request.target_words)
    notes = notes_from(research.evidence)
    examples = [(prompts.HEADINGS_EXAMPLE_USER, prompts.HEADINGS_EXAMPLE_ANSWER)]
    user = prompts.HEADINGS_USER.format(topic=request.topic, audience=request.audience, notes=notes, count=wanted)
    reply = invoke_reply(
        target, messages_for(prompts.PLANNER_SYSTEM, user, examples), stage="plan", site=site, max_tokens=HEADING_TOKENS
    )
    headings = parse_headings(reply.text, request.topic, truncated=reply.truncated)
    if len(headings) < MIN_SECTIONS - 2:
        repairs += 1
        repair = prompts.HEADINGS_REPAIR_USER.format(topic=request.topic, count=wanted)
        reply = invoke_reply(
            target,
            messages_for(prompts.PLANNER_SYSTEM, repair, examples),
            stage="repair",
            site=site,
            max_tokens=HEADING_TOKENS,
        )
        repaired = parse_headings(reply.text, request.topic, truncated=reply.truncated)
        notes_log.append(f"The first list of headings was unusable ({len(headings)} found); asked again.")
        headings = repaired if len(repaired) > len(headings) else headings
    if len(headings) < MIN_SECTIONS - 2:
        return fallback_plan(
            request,
            research,
            reason=f"the model gave {len(headings)} usable section headings after a repair attempt",
            repairs=repairs,
        )
    headings = headings[:wanted]

    # Title, description, angle, value.
    framing_examples = [(prompts.FRAMING_EXAMPLE_USER, prompts.FRAMING_EXAMPLE_ANSWER)]
    user = prompts.FRAMING_USER.format(topic=request.topic, audience=request.audience, headings="; ".join(headings))
    fields = parse_fields(
        invoke_text(
            target,
            messages_for(prompts.PLANNER_SYSTEM, user, framing_examples),
            stage="plan",
            site=site,
            max_tokens=FRAMING_TOKENS,
        )
    )
    if not _valid_title(fields.get("title")):
        repairs += 1
        repair = prompts.FRAMING_REPAIR_USER.format(topic=request.topic)
        again = parse_fields(
            invoke_text(
                target,
                messages_for(prompts.PLANNER_SYSTEM, repair, framing_examples),
                stage="repair",
                site=site,
                max_tokens=FRAMING_TOKENS // 2,
            )
        )
        fields = {**again, **{k: v for k, v in fields.items() if k != "title"}} | (
            {"title": again["title"]} if _valid_title(again.get("title")) else {}
        )
    titles = [t for t in [_valid_title(fields.get("title"))] if t]
    if not titles:
        titles = [_default_title(request.topic)]
        notes_log.append("The model gave no usable title; the title was made from the topic.")
    if _default_title(request.topic) not in titles:
        titles.append(_default_title(request.topic))
    description = fields.get("description", "")
    if not description or len(description) < 20:
        description = f"A {request.tone} guide to {request.topic} for {request.audience}."[:300]
        notes_log.append("The description was written from the topic.")

    # Key points per section, each from its own evidence.
    body: list[Section] = []
    points_examples = [(prompts.POINTS_EXAMPLE_USER, prompts.POINTS_EXAMPLE_ANSWER)]
    for heading in headings:
        draft = assign_evidence([Section(heading=heading)], research.evidence, per_section=2)[0]
        numbers = set(draft.evidence)
        section_notes = notes_from([e for e in research.evidence if e.n in numbers], limit=2)
        user = prompts.POINTS_USER.format(topic=request.topic, heading=heading, notes=section_notes)
        reply = invoke_reply(
            target,
            messages_for(prompts.PLANNER_SYSTEM, user, points_examples),
            stage="plan",
            site=site,
            max_tokens=POINTS_TOKENS,
        )
        points = parse_points(reply.text, truncated=reply.truncated)
        if not points:
            points = [heading]
            notes_log.append(f"No key points came back for '{heading}'; its heading stands as the point.")
        body.append(Section(heading=heading, key_points=points[:3]))

    # Conclusion and takeaways.
    takeaway_examples = [(prompts.TAKEAWAYS_EXAMPLE_USER, prompts.TAKEAWAYS_EXAMPLE_ANSWER)]
    user = prompts.TAKEAWAYS_USER.format(topic=request.topic, headings="; ".join(headings))
    answer = invoke_text(
        target,
        messages_for(prompts.PLANNER_SYSTEM, user, takeaway_examples),
        stage="plan",
        site=site,
        max_tokens=TAKEAWAYS_TOKENS,
    )
    conclusion = parse_fields(answer).get("conclusion", "")
    takeaways = [p for p in parse_points(answer) if not p.lower().startswith("conclusion")]

    blueprint = _finish(
        request,
        research,
        titles=titles,
        description=description,
        angle=fields.get("angle", ""),
        value=fields.get("value", ""),
        tags=[],
        body=body,
        conclusion=conclusion,
        takeaways=takeaways,
        is_fallback=False,
    )
    return PlanOutcome(blueprint, False, notes_log, repairs)


def _heading_from_question(question: str) -> str:
    text = question.strip().rstrip("?").strip()
    text = re.sub(r"^(what|which)\s+(are|is)\s+(the\s+)?", "", text, flags=re.I)
    text = re.sub(r"^(what|how|why)\s+(do|does)\s+", r"\1 ", text, flags=re.I)
    text = text[:1].upper() + text[1:]
    return text[:90].rsplit(" ", 1)[0] if len(text) > 90 else text


def fallback_plan(request: PlanRequest, research: ResearchResult, *, reason: str, repairs: int = 0) -> PlanOutcome:
    """The labelled outline built from the research questions when the model's plan stays unusable."""
    body: list[Section] = []
    seen: set[str] = set()
    for index, question in enumerate(research.questions):
        heading = _heading_from_question(question) or f"Question {index + 1}"
        if heading.lower() in seen or _FRAME_WORDS.match(heading):
            continue
        seen.add(heading.lower())
        numbers = research.per_question[index] if index < len(research.per_question) else []
        evidence = [e for e in research.evidence if e.n in numbers]
        points = [line[2:] for line in notes_from(evidence, limit=2, chars=120).splitlines() if line != "- (no notes)"]
        body.append(Section(heading=heading, key_points=points or [question.strip()]))
        if len(body) == MAX_SECTIONS - 2:
            break
    if not body:
        body = [Section(heading=f"Understanding {request.topic}"[:90], key_points=[request.topic])]
    blueprint = _finish(
        request,
        research,
        titles=[_default_title(request.topic)],
        description=f"A {request.tone} guide to {request.topic} for {request.audience}."[:300],
        angle="",
        value="",
        tags=[],
        body=body,
        conclusion="",
        takeaways=[],
        is_fallback=True,
    )
    return PlanOutcome(blueprint, True, [f"Fallback outline from the research questions: {reason}."], repairs)
