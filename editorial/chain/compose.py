"""Write one section from its facts: short generations, every sentence verified, a fallback ladder per fact.

For each small group of facts (source sentences with their evidence numbers) the model rewrites each fact as one
sentence; local models decode with copy blocking (:mod:`editorial.llm.copy_guard`), so they cannot repeat eight
words of a fact in a row, and are given the fact's first words to continue. Every sentence is checked before it
is kept: no debris, no loop, no name/number missing from the sources, no word that is neither English nor in the
sources, supported by the passage of its fact, a light edit of its fact (:mod:`editorial.grounding.edits`), not
a repeat of an earlier sentence of the post, and not copied beyond the post's verbatim budget. A model whose
sentences almost never pass is asked for fewer of them (:class:`ModelYield`). A fact whose
sentence fails is regenerated once on its own; if that fails too, a close paraphrase made by rules
(:mod:`editorial.grounding.paraphrase`), then the source sentence quoted (marked, with its citation) while the
verbatim budget allows; otherwise the fact is dropped. Nothing unverified is kept, and a section the facts cannot
fill stays short.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from editorial.chain import prompts
from editorial.chain.calls import (
    CallSite,
    ChatTarget,
    continues_answers,
    fact_edit_kwargs,
    messages_for,
    opening_of,
    stream_text,
)
from editorial.chain.text import count_words
from editorial.grounding.copying import MAX_SHARE, QUOTE_WORDS, SourceShingles
from editorial.grounding.edits import added_words, dropped_meaning, moved_word
from editorial.grounding.facts import Embed, Fact, remembering
from editorial.grounding.guards import DuplicateFilter, LoopGuard, cut_loop, self_repetition, strip_debris
from editorial.grounding.paraphrase import close_paraphrase
from editorial.grounding.sentences import plain, split_body
from editorial.grounding.verify import has_claim, passage_problem
from editorial.grounding.vocabulary import SourceVocabulary, checkable_terms, unfamiliar_words

log = logging.getLogger(__name__)

GROUP_SIZE = 1
"""Facts per generation: one short answer leaves a small model no room to drift (two at a time passed less)."""
TOKENS_PER_FACT = 48
COPY_BUDGET = MAX_SHARE - 0.04
"""The writer keeps copied words under this share of the post, while writing and when it trims quotations at the
end: a margin under the 25% goal, because the writer knows only the passages it read and a sentence may also copy
another document of the collection (session 7: a PyTorch post trimmed to 25% by the writer measured 25.8% against
the whole corpus)."""
WRITER_SUPPORT = 0.75
"""Lowest support of a model-written sentence by its fact's passage. Stricter than the report's 0.5 (which judges
people's edits): reading the benchmark's posts, fluent distortions of the 135M model passed at 0.5-0.7."""
_META = re.compile(
    r"\b(?:this|the|original|following|above) (?:sentence|text|fact|statement)\b|\brewrit|\brephras|\bparaphras"
    r"|\bin other words\b|\bhere(?:'s| is) (?:a|an|the)\b|\b(?:this|the) edit\b|\bcopy-?edit",
    re.IGNORECASE,
)
"""A sentence about the writing task itself ("This sentence can be rewritten…") is debris, not content."""
MIN_MODEL_YIELD = 0.1
"""Below this share of verified sentences the writer stops asking the model for every fact (it still samples one
in :data:`PROBE_EVERY`): a refused sentence costs a call and buys nothing. Session 7, 10-topic benchmark: with the
light-edit checks of :mod:`editorial.grounding.edits` the 135M model's first edits passed 1 time in 35 and its
retries 0 in 30 (SQLAlchemy post), so it is asked for few; a model whose edits pass 1 time in 10 or more is
asked for every fact. (With looser checks its ~1 in 13 mattered: a 0.2 gate then cost 24% of the words.)"""
MIN_MODEL_TRIALS = 20
"""Sentences asked for before the yield is judged (a working model is not stopped by a run of refusals)."""
PROBE_EVERY = 5
MIN_SENTENCE_WORDS = 5
MAX_SENTENCE_WORDS = 60
PARAGRAPH_SENTENCES = 3


@dataclass
class ModelYield:
    """How often one kind of the writer model's sentences (first edit or retry) passed verification in a post."""

    asked: int = 0
    passed: int = 0
    skipped: int = 0

    def earns_its_calls(self) -> bool:
        """True while too few sentences were asked for to judge, or enough of them passed."""
        return self.asked < MIN_MODEL_TRIALS or self.passed >= MIN_MODEL_YIELD * self.asked

    def worth_asking(self) -> bool:
        """True while the model earns its calls; when it does not, True for one fact in :data:`PROBE_EVERY`."""
        if self.earns_its_calls():
            return True
        if self.skipped + 1 >= PROBE_EVERY:
            self.skipped = 0
            return True
        self.skipped += 1
        return False

    def record(self, passed: bool) -> None:
        """Count one sentence asked for and whether it passed."""
        self.asked += 1
        self.passed += int(passed)


def model_note(first_edits: ModelYield, retries: ModelYield) -> str:
    """The run's note when the writer model was asked for fewer sentences because few of its sentences passed."""
    throttled = [
        f"{name} passed verification {y.passed} time(s) in {y.asked}"
        for name, y in (("its first edits", first_edits), ("its retries", retries))
        if not y.earns_its_calls()
    ]
    if not throttled:
        return ""
    return (
        f"The writer model was asked less: {' and '.join(throttled)}, so those were asked for one fact in "
        f"{PROBE_EVERY}; the other facts were reworded by rules or quoted."
    )


@dataclass
class WritingContext:
    """What the writer remembers across a post: the sources' vocabulary and text, sentences already written."""

    vocabulary: SourceVocabulary
    shingles: SourceShingles
    duplicates: DuplicateFilter = field(default_factory=DuplicateFilter)
    embed: Embed | None = None
    tried: set[str] = field(default_factory=set)
    """Facts that could not be turned into a kept sentence (later sections do not try them again)."""
    copied_words: int = 0
    total_words: int = 0
    planned_words: int = 0
    """The post's planned length: early in a post, quotations are measured against it, not the words so far."""
    first_edits: ModelYield = field(default_factory=ModelYield)
    retries: ModelYield = field(default_factory=ModelYield)

    @classmethod
    def build(
        cls,
        source_texts: Iterable[str],
        *,
        vocabulary: SourceVocabulary | None = None,
        embed: Embed | None = None,
        written: Iterable[str] = (),
    ) -> WritingContext:
        """A context over ``source_texts``; ``written`` are sections already finished (a resumed run)."""
        texts = list(source_texts)
        own = vocabulary.copy() if vocabulary else SourceVocabulary.from_texts(texts)  # add_sources grows it
        context = cls(own, SourceShingles(texts), embed=remembering(embed) if embed else None)
        for text in written:
            for span in split_body(text):
                context.remember(plain(span.text))
        return context

    def add_sources(self, texts: Iterable[str]) -> None:
        """Passages found while writing join the vocabulary and the copy check."""
        for text in texts:
            self.vocabulary.add_text(text)
            self.shingles.add(text)

    def remember(self, sentence: str, fact: str = "") -> None:
        """Count a kept sentence (duplicates and the verbatim budget); its ``fact`` is said too, however reworded."""
        self.duplicates.accept(sentence)
        if fact:
            self.duplicates.accept(fact)
        self.copied_words += self.shingles.copied_words(sentence)
        self.total_words += count_words(sentence)

    def copy_allowed(self, copied: int, words: int) -> bool:
        """True when adding ``copied`` copied words (of ``words``) keeps the post within the verbatim budget."""
        if copied == 0:
            return True
        base = max(self.total_words + words, int(self.planned_words * 0.8), 1)
        return self.copied_words + copied <= COPY_BUDGET * base


@dataclass
class Kept:
    """A sentence that passed, with the evidence number it cites and how it was obtained."""

    text: str
    n: int
    origin: str  # "model", "retry", "paraphrase" or "quote"
    block: bool = False
    """A long quotation, set as its own block quote."""


@dataclass
class SectionDraft:
    """What :func:`compose_section` produced."""

    text: str
    kept: list[Kept]
    dropped: int = 0
    rejected: list[str] = field(default_factory=list)
    """Why generated sentences were refused (for the run's notes and the benchmark)."""

    @property
    def words(self) -> int:
        """Published words."""
        return count_words(self.text)

    def extended(self, more: SectionDraft) -> SectionDraft:
        """This draft followed by ``more`` (a second round of facts for the same section)."""
        kept = [*self.kept, *more.kept]
        return SectionDraft(_paragraphs(kept), kept, self.dropped + more.dropped, [*self.rejected, *more.rejected])


def _numbered(reply: str, count: int) -> dict[int, str]:
    """Map ``1. …`` lines of a reply to fact indexes; unnumbered text goes to the first fact without a line."""
    found: dict[int, str] = {}
    loose: list[str] = []
    for line in reply.splitlines():
        match = re.match(r"^\s*(\d{1,2})[.)]\s+(.+)$", line)
        if match and 1 <= int(match.group(1)) <= count and int(match.group(1)) - 1 not in found:
            found[int(match.group(1)) - 1] = match.group(2).strip()
        elif line.strip():
            loose.append(line.strip())
    for text in loose:
        free = next((i for i in range(count) if i not in found), None)
        if free is None:
            break
        found[free] = text
    return found


def _first_sentence(text: str) -> str:
    """The first complete sentence of a line (a model sometimes adds a second, unasked one)."""
    text = " ".join(text.split()).strip().strip('"“”')
    match = re.search(r"^(.+?[.!?])(?:\s+[A-Z]|$)", text)
    sentence = match.group(1) if match else text
    return sentence if sentence.endswith((".", "!", "?")) else ""


def with_citation(sentence: str, n: int) -> str:
    """``sentence`` with ``[n]`` before its final punctuation."""
    sentence = sentence.rstrip()
    return f"{sentence[:-1]} [{n}]{sentence[-1]}" if sentence[-1:] in ".!?" else f"{sentence} [{n}]."


def check_sentence(sentence: str, fact: Fact, context: WritingContext) -> str:
    """Why ``sentence`` cannot stand for ``fact`` (empty string when it passes)."""
    text = plain(strip_debris(sentence))
    if not text:
        return "empty"
    if _META.search(text):
        return "talks about the task"
    words = count_words(text)
    if not MIN_SENTENCE_WORDS <= words <= MAX_SENTENCE_WORDS:
        return f"{words} words"
    if not text[0].isupper() and not text[0].isdigit() and text[0] != "`":
        return "not a sentence"
    repeated = self_repetition(text)
    if repeated:
        return f"repeats itself: {repeated}"
    terms = checkable_terms(text)
    unknown = context.vocabulary.unknown(terms)
    if unknown:
        return "not in the sources: " + ", ".join(unknown[:3])
    coined = unfamiliar_words(text, context.vocabulary)
    if coined:
        return "not a word: " + ", ".join(coined[:3])
    if not has_claim(text, terms):
        return "says nothing"
    problem, _ = passage_problem(text, fact.passage, terms=terms, threshold=WRITER_SUPPORT)
    if problem:
        return f"unsupported: the passage {problem}"
    added = added_words(text, fact.text)
    if added:
        return "adds words its fact does not have: " + ", ".join(added[:3])
    moved = moved_word(text, fact.text)
    if moved:
        return f"moves its fact's words around: {moved}"
    if context.duplicates.seen(text):
        return "repeats an earlier sentence"
    run = context.shingles.longest_run(text)
    if run > QUOTE_WORDS:
        return "copied without quotation"
    if run and not context.copy_allowed(context.shingles.copied_words(text), words):
        return "copied (verbatim budget)"
    return ""


def check_edit(sentence: str, fact: Fact, context: WritingContext) -> str:
    """Why the model's ``sentence`` cannot stand for ``fact``: :func:`check_sentence`, then :func:`dropped_meaning`."""
    return check_sentence(sentence, fact, context) or dropped_meaning(sentence, fact.text)


def quotation(fact: Fact, context: WritingContext) -> Kept | None:
    """The fact itself as a marked quotation with its citation, when the verbatim budget and repeats allow."""
    words = count_words(fact.text)
    if context.duplicates.seen(fact.text) or not context.copy_allowed(words, words):
        return None
    body = fact.text.rstrip(".!? ")
    if words > QUOTE_WORDS:
        return Kept(f"> {body} [{fact.n}].", fact.n, "quote", block=True)
    return Kept(f"“{body}” [{fact.n}].", fact.n, "quote")


OPENING_WORDS = 2
"""Words of its fact a local model's answer begins with (the prompt opens the answer; the model continues it).
Measured on 80 real facts (embedded model, every check of this module): 2 edits passed when the model began on its
own (most began like the few-shot example, "Docker builds …", whatever the fact), 12 with the fact's first two
words given, 11 with three."""


def fact_messages(group: list[Fact], context_line: str, model: object = None) -> list:
    """The writer's first request for ``group``: the copy-edit instruction, its example, the facts.

    For a local ``model`` asked for one fact, the answer begins with the fact's first :data:`OPENING_WORDS` words.
    """
    listed = "\n".join(fact.text for fact in group)
    opening = " ".join(group[0].text.split()[:OPENING_WORDS]) if len(group) == 1 and continues_answers(model) else ""
    return messages_for(
        prompts.FACTS_SYSTEM,
        prompts.FACTS_USER.format(context=context_line, facts=listed),
        [(prompts.FACTS_EXAMPLE_USER, prompts.FACTS_EXAMPLE_ANSWER)],
        opening,
    )


def _generate(
    target: ChatTarget,
    messages: list,
    *,
    stage: str,
    site: CallSite,
    max_tokens: int,
    topic: str,
    facts: list[Fact] = (),
) -> str:
    guard = LoopGuard()
    # the example answer too: with nothing of its own to say, a small model repeats the few-shot example
    sources = list(dict.fromkeys([*(f.text for f in facts), *(f.passage for f in facts), prompts.FACTS_EXAMPLE_ANSWER]))
    reply = stream_text(
        target,
        messages,
        stage=stage,
        site=site,
        max_tokens=max_tokens,
        on_token=lambda text: None,
        should_stop=guard.feed,
        **fact_edit_kwargs(target.model, sources),
    )
    reply = opening_of(messages) + reply  # a begun answer: the model wrote the rest
    return cut_loop(strip_debris(reply, topic)) if guard.looped else strip_debris(reply, topic)


def compose_section(
    target: ChatTarget,
    facts: list[Fact],
    *,
    topic: str,
    context_line: str = "",
    budget: int,
    site: CallSite,
    context: WritingContext,
    stage: str = "section",
    on_token: Callable[[str], None] = lambda text: None,
) -> SectionDraft:
    """Write up to ``budget`` (+20%) words from ``facts``, one at a time, keeping only verified sentences.

    ``topic`` is the section's heading (a line repeating it is debris); ``context_line`` tells the model where the
    sentence goes (``Section 2 of 5: …``).
    """
    context_line = context_line or f"Section: {topic}"
    kept: list[Kept] = []
    rejected: list[str] = []
    dropped = 0
    words = 0
    limit = budget * 1.2
    for start in range(0, len(facts), GROUP_SIZE):
        if words >= budget:
            break
        group = facts[start : start + GROUP_SIZE]
        asked = context.first_edits.worth_asking()
        reply = (
            _generate(
                target,
                fact_messages(group, context_line, target.model),
                stage=stage,
                site=site,
                max_tokens=TOKENS_PER_FACT * len(group) + 8,
                topic=topic,
                facts=group,
            )
            if asked
            else ""
        )
        lines = _numbered(reply, len(group))
        for index, fact in enumerate(group):
            if words >= limit:
                break
            first = _first_sentence(lines.get(index, "")) if asked else None
            choice = _ladder(target, fact, first, context, site, stage, topic, rejected)
            if choice is None:
                dropped += 1
                context.tried.add(fact.text)
                continue
            kept.append(choice)
            context.remember(plain(choice.text), fact.text)
            words += count_words(choice.text)
            on_token(choice.text + " ")
    return SectionDraft(_paragraphs(kept), kept, dropped, rejected)


def _ladder(
    target: ChatTarget,
    fact: Fact,
    first: str | None,
    context: WritingContext,
    site: CallSite,
    stage: str,
    topic: str,
    rejected: list[str],
) -> Kept | None:
    """The model's sentence, else one retry on this fact alone, else a rule paraphrase, else a quotation, else None.

    ``first`` is None when the model was not asked (its sentences have not been passing, :class:`ModelYield`);
    the retry is skipped the same way.
    """
    if first is not None:
        problem = check_edit(first, fact, context) if first else "no sentence"
        context.first_edits.record(not problem)
        if not problem:
            return Kept(with_citation(plain(first), fact.n), fact.n, "model")
        rejected.append(f"{problem}: {first[:120]}")
    if context.retries.worth_asking():
        second = _retry(target, fact, site, stage, topic)
        problem = check_edit(second, fact, context) if second else "no sentence"
        context.retries.record(not problem)
        if not problem:
            return Kept(with_citation(plain(second), fact.n), fact.n, "retry")
        rejected.append(f"{problem}: {second[:120]}")
    reworded = close_paraphrase(fact.text, context.shingles)
    if reworded and not check_sentence(reworded, fact, context):
        return Kept(with_citation(reworded, fact.n), fact.n, "paraphrase")
    return quotation(fact, context)


def _retry(target: ChatTarget, fact: Fact, site: CallSite, stage: str, topic: str) -> str:
    """The model's second sentence for ``fact``, asked on its own with other words ("" when it gave none)."""
    retry = _generate(
        target,
        messages_for(
            prompts.FACTS_SYSTEM,
            prompts.FACT_RETRY_USER.format(fact=fact.text),
            [(prompts.FACTS_EXAMPLE_USER, prompts.FACTS_EXAMPLE_ANSWER)],
        ),
        stage=f"{stage} retry",
        site=site,
        max_tokens=TOKENS_PER_FACT + 8,
        topic=topic,
        facts=[fact],
    )
    lines = [line for line in retry.splitlines() if line.strip()]
    return _first_sentence(re.sub(r"^\s*\d{1,2}[.)]\s+", "", lines[0]) if lines else "")


def _paragraphs(kept: list[Kept]) -> str:
    """Sentences in paragraphs of three; long quotations as block quotes of their own."""
    paragraphs: list[str] = []
    current: list[str] = []
    for item in kept:
        if item.block:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            paragraphs.append(item.text)
            continue
        current.append(item.text)
        if len(current) >= PARAGRAPH_SENTENCES:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


_QUOTED = re.compile(r"(?m)^> .*?\[\d{1,3}\]\.\s*$|“[^”]*” \[\d{1,3}\]\.")


def trim_quotations(texts: list[str], shingles: SourceShingles, share: float = MAX_SHARE) -> tuple[list[str], int]:
    """Section texts without their last quotations while the post's copied share is over ``share``.

    The writer budgets quotations against the planned length; when the post ends up shorter (the facts could not
    be reworded), quotations would make up more of it than the budget allows, so the last ones go.

    Returns:
        The texts and how many quotations were removed.
    """
    texts = list(texts)
    removed = 0
    while True:
        words = sum(count_words(plain(t)) for t in texts)
        copied = sum(shingles.copied_words(plain(t)) for t in texts)
        if not words or copied <= share * words:
            return texts, removed
        for index in range(len(texts) - 1, -1, -1):
            quotes = list(_QUOTED.finditer(texts[index]))
            if quotes:
                last = quotes[-1]
                text = texts[index][: last.start()] + texts[index][last.end() :]
                paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
                texts[index] = "\n\n".join(p for p in paragraphs if p)
                removed += 1
                break
        else:
            return texts, removed
