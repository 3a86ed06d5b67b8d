"""Ask your sources: a short answer to a question over one collection, every sentence checked by the verifier.

The answer comes from the generator (streamed, sentence by sentence through the grounding verifier), or from an
extractive question-answering model when one is configured. A sentence the verifier does not find supported by
the passage it cites is dropped, never shown as an answer. When no sentence survives, the closest sentence of the
retrieved passages is quoted if it is close enough to the question; otherwise the answer is "the sources don't say".
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Engine

from editorial.assists import pipelines
from editorial.assists.common import cite_closest, embed, ledger_call, sentences, strip_citations
from editorial.chain.calls import CallSite, ChatTarget, messages_for, stream_text
from editorial.grounding.schemas import GroundednessReport, Passage, SentenceStatus
from editorial.grounding.verify import verify_text
from editorial.retrieval import search
from editorial.settings import Settings
from editorial.usage import CallContext, LedgerHandler, token_counter_for

log = logging.getLogger(__name__)

STAGE = "ask"
MAX_QUESTION_CHARS = 1000
PASSAGES = 4
MIN_SCORE = 0.3
"""Passages less relevant than this (1 - cosine distance) are not used."""
QUOTE_MIN_SIMILARITY = 0.45
"""A quoted source sentence must be at least this similar to the question."""
RELEVANCE_MIN = 0.3
"""A generated sentence must be at least this similar to the question (embedding cosine) to count as an answer:
the verifier checks that the sources say it, this checks that it answers what was asked."""
QA_MIN_SCORE = 0.2
PASSAGE_CHARS = 600
MAX_TOKENS = 80
HISTORY_TURNS = 2
DECLINED = "The sources don't say."

SYSTEM = (
    "You answer questions using only the numbered sources. Answer in one or two short sentences and cite the "
    "source number in brackets, like [1]. If the sources do not answer the question, reply exactly: "
    "The sources don't say."
)
_DECLINE_RE = re.compile(r"sources? (?:do(?:es)?n['’]t|do(?:es)? not) (?:say|answer|mention|contain)", re.I)
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class AskServices:
    """What answering needs: models, where the collection lives and where usage goes."""

    settings: Settings
    engine: Engine | None
    embeddings: Any
    chroma_name: str
    collection_id: int | None = None
    target: ChatTarget | None = None
    """The generator (the bundled model by default); unused when an extractive QA model is configured."""
    qa: pipelines.TaskModel | None = None
    vocabulary: Any = None
    search: Callable[[str, int], list[Any]] | None = None
    """``search(query, k)`` → retrieval passages, best first; default: the collection in Chroma."""


@dataclass
class AskCallbacks:
    """Progress for a page or the CLI: verified sentences as they are accepted, raw tokens as they arrive."""

    on_sentence: Callable[[str], None] = lambda text: None
    on_token: Callable[[str], None] = lambda text: None


@dataclass
class AskAnswer:
    """An answer with the passages it used and the verifier's report on it."""

    question: str
    text: str
    declined: bool
    passages: dict[int, Passage] = field(default_factory=dict)
    report: GroundednessReport | None = None
    dropped: list[str] = field(default_factory=list)
    """Generated sentences the verifier did not accept (kept for the record, never shown as the answer)."""
    method: str = "generated"
    """generated, extractive (QA model), quoted (closest source sentence) or none."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0

    @property
    def cited(self) -> list[int]:
        """Passage numbers the answer cites, in order."""
        found: list[int] = []
        for number in re.findall(r"\[(\d+)\]", self.text):
            if int(number) in self.passages and int(number) not in found:
                found.append(int(number))
        return found

    def with_citation(self) -> str:
        """The answer for a draft: its text with the sources named inline (a draft's own [n] stay unambiguous)."""
        labels = "; ".join(dict.fromkeys(self.passages[n].label() for n in self.cited))
        text = strip_citations(self.text).rstrip()
        if not labels:
            return text
        end = text[-1] if text and text[-1] in ".!?" else ""
        return f"{text[: len(text) - len(end)]} (source: {labels}){end}"


def retrieval_query(question: str, history: list[tuple[str, str]]) -> str:
    """The search query: the question, plus the previous question for a short follow-up ("and what about it?")."""
    if history and len(_WORD.findall(question.lower())) <= 8:
        return f"{history[-1][0]} {question}"
    return question


def find_passages(services: AskServices, query: str) -> dict[int, Passage]:
    """The collection's passages for ``query`` above :data:`MIN_SCORE`, numbered from 1."""
    if services.search is not None:
        found = services.search(query, PASSAGES)
    else:
        found = search(
            services.settings, services.embeddings, chroma_name=services.chroma_name, query=query, k=PASSAGES
        )
    kept = [p for p in found if p.score >= MIN_SCORE]
    return {
        n: Passage(n=n, text=p.text, source_id=p.source_id, source_name=p.source_name, location=p.location)
        for n, p in enumerate(kept, start=1)
    }


def prompt(question: str, passages: dict[int, Passage], history: list[tuple[str, str]]) -> list:
    """The chat messages: instructions, earlier turns of the conversation, the sources and the question."""
    listed = "\n".join(f"[{n}] {' '.join(p.text.split())[:PASSAGE_CHARS]}" for n, p in passages.items())
    examples = [(q, a) for q, a in history[-HISTORY_TURNS:]]
    return messages_for(SYSTEM, f"Sources:\n{listed}\n\nQuestion: {question}", examples)


def check(sentence: str, passages: dict[int, Passage], vocabulary: Any = None) -> bool:
    """True when the verifier finds every claim of ``sentence`` supported by the passages."""
    report = verify_text(sentence, passages, vocabulary=vocabulary)
    return report.count(SentenceStatus.SUPPORTED) > 0 and not report.unsupported


def _relevant(services: AskServices, question: str, sentence: str) -> bool:
    vectors = embed(services.embeddings, [question, strip_citations(sentence)])
    return float(vectors[0] @ vectors[1]) >= RELEVANCE_MIN


class _SentenceStream:
    """Collects streamed tokens; hands each finished sentence to ``accept``."""

    def __init__(self, accept: Callable[[str], None]):
        self.buffer = ""
        self.accept = accept

    def feed(self, text: str) -> None:
        self.buffer += text
        while True:
            match = re.search(r"[.!?](?:\s*\[\d+(?:,\s*\d+)*\])?[.!?]?\s+(?=\S)", self.buffer)
            if not match:
                return
            sentence, self.buffer = self.buffer[: match.end()].strip(), self.buffer[match.end() :]
            self.accept(sentence)

    def close(self) -> None:
        if self.buffer.strip():
            self.accept(self.buffer.strip())
        self.buffer = ""


def _generate(services, question, passages, history, callbacks, answer: AskAnswer) -> list[str]:
    target = services.target
    ledger = LedgerHandler(
        services.engine,
        CallContext(collection_id=services.collection_id, stage=STAGE),
        counter=token_counter_for(target.model),
    )
    kept: list[str] = []

    def accept(sentence: str) -> None:
        if _DECLINE_RE.search(sentence):
            answer.dropped.append(sentence)
            return
        cited = cite_closest(sentence, passages)
        if check(cited, passages, services.vocabulary) and _relevant(services, question, sentence):
            kept.append(cited)
            callbacks.on_sentence(cited)
        else:
            answer.dropped.append(sentence)

    stream = _SentenceStream(accept)

    def on_token(text: str) -> None:
        callbacks.on_token(text)
        stream.feed(text)

    stream_text(
        target,
        prompt(question, passages, history),
        stage=STAGE,
        site=CallSite(ledger=ledger),
        max_tokens=MAX_TOKENS,
        on_token=on_token,
    )
    stream.close()
    for row in ledger.recorded:
        answer.prompt_tokens += row["prompt_tokens"]
        answer.completion_tokens += row["completion_tokens"]
    return kept


def _extract(services, question, passages, callbacks, answer: AskAnswer) -> list[str]:
    """Extractive QA: the source sentence holding the best answer span, cited."""
    qa = services.qa
    best: tuple[float, int, str] | None = None
    with ledger_call(
        services.engine, stage=STAGE, backend="transformers", model=qa.name, collection_id=services.collection_id
    ) as record:
        for n, passage in passages.items():
            record.prompt_tokens += qa.count(question) + qa.count(passage.text)
            span = pipelines.answer_span(qa, question, passage.text)
            if span is not None and span.score >= QA_MIN_SCORE and (best is None or span.score > best[0]):
                best = (span.score, n, _sentence_around(passage.text, span.start, span.end))
        record.completion_tokens = qa.count(best[2]) if best else 0
    answer.prompt_tokens += record.prompt_tokens
    answer.completion_tokens += record.completion_tokens
    if best is None:
        return []
    sentence = f"{best[2].rstrip().rstrip('.')} [{best[1]}]."
    if not check(sentence, passages, services.vocabulary):
        answer.dropped.append(sentence)
        return []
    callbacks.on_sentence(sentence)
    return [sentence]


def _sentence_around(text: str, start: int, end: int) -> str:
    position = 0
    for sentence in sentences(text):
        found = text.find(sentence[:40], position)
        if found >= 0 and found <= start < found + len(sentence) + 1:
            return sentence
        position = max(position, found)
    return text[start:end]


def _quote(services, question, passages, callbacks, answer: AskAnswer) -> list[str]:
    """The retrieved sentence closest to the question (embedding similarity), when it is close enough."""
    candidates = [(n, s) for n, p in passages.items() for s in sentences(p.text) if 4 <= len(s.split()) <= 60]
    if not candidates:
        return []
    vectors = embed(services.embeddings, [question] + [s for _, s in candidates])
    similarity = vectors[1:] @ vectors[0]
    best = int(np.argmax(similarity))
    if float(similarity[best]) < QUOTE_MIN_SIMILARITY:
        return []
    n, text = candidates[best]
    sentence = f"{strip_citations(text).rstrip().rstrip('.')} [{n}]."
    if not check(sentence, passages, services.vocabulary):
        return []
    callbacks.on_sentence(sentence)
    return [sentence]


def ask(
    services: AskServices,
    question: str,
    history: list[tuple[str, str]] | None = None,
    callbacks: AskCallbacks | None = None,
) -> AskAnswer:
    """Answer ``question`` from the collection; earlier ``(question, answer)`` turns give a follow-up its context.

    Raises:
        ModelCallFailed: the generator failed (the message names it); nothing is half-stored.
    """
    started = time.perf_counter()
    callbacks = callbacks or AskCallbacks()
    history = list(history or [])
    question = " ".join(question.split())[:MAX_QUESTION_CHARS]
    answer = AskAnswer(question=question, text="", declined=True, method="none")
    if not question:
        answer.text = "Ask a question about this collection."
        return answer
    passages = find_passages(services, retrieval_query(question, history))
    answer.passages = passages
    kept: list[str] = []
    if passages:
        if services.qa is not None:
            kept, answer.method = _extract(services, question, passages, callbacks, answer), "extractive"
        elif services.target is not None:
            kept, answer.method = _generate(services, question, passages, history, callbacks, answer), "generated"
        if not kept:
            kept, answer.method = _quote(services, question, passages, callbacks, answer), "quoted"
    if kept:
        answer.text, answer.declined = " ".join(kept), False
        answer.report = verify_text(answer.text, passages, vocabulary=services.vocabulary)
    else:
        answer.method = "none"
        answer.text = DECLINED if passages else f"{DECLINED} No passage of this collection is close to the question."
    answer.latency_ms = int((time.perf_counter() - started) * 1000)
    return answer
