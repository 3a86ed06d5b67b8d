"""Tone check: per section, the sentences whose tone pulls away from the tone the run asked for.

By default each sentence is compared with short examples of each tone using the embedding model. A configured
zero-shot-classification model classifies each sentence against the requested tone and its contrasts instead;
a configured sentiment model flags strongly negative sentences when the requested tone is not a critical one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from db.crud import drafts as drafts_crud
from db.crud import plans as plans_crud
from db.session import session_scope
from editorial.assists import pipelines
from editorial.assists.common import bounded, embed, embedding_counter, embedding_name, ledger_call, markdown_sections
from editorial.assists.common import sentences as split_sentences

STAGE = "assist tone"
MAX_SENTENCES = 300
MARGIN = 0.04
"""How much closer to another tone (cosine, or zero-shot probability ×0.25) a sentence must be to pull away."""
SENTIMENT_FLAG = 0.9
TONE_EXAMPLES: dict[str, list[str]] = {
    "practical": [
        "Install the package, then run the command and check the output.",
        "Set the chunk size to 1000 characters and measure the result.",
    ],
    "formal": [
        "The system processes each request in accordance with the configuration.",
        "This document describes the architecture and its components.",
    ],
    "casual": ["Honestly, this bit is kind of fun, you'll see.", "So yeah, we just hack it together and go."],
    "enthusiastic": [
        "This is amazing and you will absolutely love it!",
        "The best, most revolutionary tool ever made, a total game changer!",
    ],
    "negative": ["This is terrible, broken and frustrating.", "It fails all the time and wastes hours of work."],
    "academic": [
        "Prior work has shown that the proposed method significantly improves recall.",
        "We hypothesize that the observed effect is attributable to the sampling procedure.",
    ],
}
NEGATIVE_TONES = frozenset({"negative", "critical", "skeptical", "sceptical"})
TEMPLATE = "The tone of this text is {}."


@dataclass
class OffTone:
    """A sentence that pulls away from the requested tone, and the tone it reads as."""

    sentence: str
    reads_as: str
    strength: float


@dataclass
class SectionTone:
    """The tone check of one section."""

    heading: str
    sentences: int
    off: list[OffTone] = field(default_factory=list)

    @property
    def on_tone_share(self) -> float:
        """Share of the section's sentences that keep the requested tone."""
        return 1 - len(self.off) / self.sentences if self.sentences else 1.0


@dataclass
class ToneReport:
    """The requested tone, how it was checked and each section's result."""

    requested: str
    method: str
    sections: list[SectionTone] = field(default_factory=list)

    @property
    def off_count(self) -> int:
        """Sentences that pull away, over all sections."""
        return sum(len(section.off) for section in self.sections)


def requested_tone(engine, draft_id: int) -> str:
    """The tone the draft's plan asked for ("practical" when the draft has no plan or no tone)."""
    with session_scope(engine) as session:
        draft = drafts_crud.get_draft(session=session, draft_id=draft_id)
        plan = plans_crud.get_plan(session=session, plan_id=draft.plan_id) if draft and draft.plan_id else None
        return (plan.tone if plan is not None and plan.tone else "") or "practical"


def _requested_key(tone: str) -> str:
    tone = (tone or "practical").strip().lower()
    for known in TONE_EXAMPLES:
        if known in tone:
            return known
    return tone


def _by_embeddings(embeddings: Any, requested: str, texts: list[str]) -> list[OffTone | None]:
    examples = {tone: list(items) for tone, items in TONE_EXAMPLES.items()}
    if requested not in examples:
        examples[requested] = [f"This text is {requested}."]
    labels = [tone for tone, items in examples.items() for _ in items]
    vectors = embed(embeddings, [text for items in examples.values() for text in items] + texts)
    prototypes, rows = vectors[: len(labels)], vectors[len(labels) :]
    similarity = rows @ prototypes.T
    found: list[OffTone | None] = []
    for index, text in enumerate(texts):
        best_per_tone: dict[str, float] = {}
        for column, tone in enumerate(labels):
            best_per_tone[tone] = max(best_per_tone.get(tone, -1.0), float(similarity[index, column]))
        top = max(best_per_tone, key=best_per_tone.get)
        gap = best_per_tone[top] - best_per_tone[requested]
        found.append(OffTone(text, top, round(gap, 3)) if top != requested and gap > MARGIN else None)
    return found


def _by_zero_shot(model, requested: str, texts: list[str]) -> list[OffTone | None]:
    labels = [requested] + [tone for tone in TONE_EXAMPLES if tone != requested]
    found: list[OffTone | None] = []
    for text in texts:
        scores = pipelines.zero_shot(model, text, labels, TEMPLATE)
        top = max(scores, key=scores.get)
        gap = scores[top] - scores[requested]
        found.append(OffTone(text, top, round(gap, 3)) if top != requested and gap > MARGIN * 0.25 else None)
    return found


def _by_sentiment(model, requested: str, texts: list[str]) -> list[OffTone | None]:
    found: list[OffTone | None] = []
    for text, (label, score) in zip(texts, pipelines.classify(model, texts), strict=True):
        negative = label.lower().startswith("neg") or label.upper() in ("LABEL_0", "1 STAR", "2 STARS")
        pulls = negative and score >= SENTIMENT_FLAG and requested not in NEGATIVE_TONES
        found.append(OffTone(text, f"negative ({label})", round(score, 3)) if pulls else None)
    return found


def check_tone(settings, engine, embeddings: Any, *, body: str, tone: str, draft_id: int | None = None) -> ToneReport:
    """Check every section of ``body`` against ``tone`` (the run's requested tone; "practical" when unknown).

    Raises:
        TaskModelUnavailable: a configured zero-shot or sentiment model cannot be loaded.
    """
    requested = _requested_key(tone)
    sections = [(heading, split_sentences(text)) for heading, text in markdown_sections(bounded(body))]
    sections = [(heading, found) for heading, found in sections if found]
    texts = [sentence for _, found in sections for sentence in found][:MAX_SENTENCES]
    zero = pipelines.load_task_model(settings, "zero_shot")
    sentiment = None if zero is not None else pipelines.load_task_model(settings, "sentiment")
    model = zero or sentiment
    if model is not None:
        method = f"{'zero-shot' if zero is not None else 'sentiment'} ({model.name})"
        with ledger_call(engine, stage=STAGE, backend="transformers", model=model.name, draft_id=draft_id) as record:
            record.prompt_tokens = sum(model.count(text) for text in texts)
            verdicts = (_by_zero_shot if zero is not None else _by_sentiment)(model, requested, texts)
    else:
        method = "embedding model (tone examples)"
        counter = embedding_counter(embeddings)
        with ledger_call(
            engine, stage=STAGE, backend="embedded", model=embedding_name(settings), draft_id=draft_id
        ) as record:
            record.prompt_tokens = sum(counter.count_text(text) for text in texts)
            verdicts = _by_embeddings(embeddings, requested, texts) if texts else []
    report = ToneReport(requested=requested, method=method)
    position = 0
    for heading, found in sections:
        part = verdicts[position : position + len(found)]
        position += len(found)
        report.sections.append(SectionTone(heading, len(found), [item for item in part if item is not None]))
    return report
