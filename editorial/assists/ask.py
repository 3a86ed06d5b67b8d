"""Ask your sources: a short answer to a question over one collection, every sentence checked by the verifier.

Extractive first: the retrieved passages' sentences are ranked against the question (:mod:`editorial.assists.evidence`)
and when none is close enough the answer is "the sources don't say", without calling a model. Otherwise the
generator phrases a short answer from the best evidence sentences only (streamed, sentence by sentence through the
grounding verifier); a sentence the verifier does not find supported, that does not answer the question or adds
nothing to it is dropped, never shown. When no phrased sentence survives, the best evidence sentence is quoted.
An extractive question-answering model replaces the generator when one is configured.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from editorial.assists import pipelines
from editorial.assists.common import cite_closest, embed, ledger_call, sentences, strip_citations
from editorial.assists.evidence import Evidence, keeps_the_facts, rank, readable
from editorial.chain.calls import CallSite, ChatTarget, messages_for, stream_text
from editorial.grounding.schemas import GroundednessReport, Passage, SentenceStatus
from editorial.grounding.verify import verify_text
from editorial.retrieval import search
from editorial.settings import Settings
from editorial.usage import CallContext, LedgerHandler, token_counter_for

log = logging.getLogger(__name__)

STAGE = "ask"
MAX_QUESTION_CHARS = 1000
PASSAGES = 5
MIN_SCORE = 0.3
"""Passages less relevant than this (1 - cosine distance) are not used."""
EVIDENCE_SENTENCES = 3
"""Evidence sentences the generator may phrase its answer from (those that answer, best first)."""
MAX_SENTENCES = 2
RELEVANCE_MIN = 0.3
"""A generated sentence must be at least this similar to the question (embedding cosine) to count as an answer:
the verifier checks that the sources say it, this checks that it answers what was asked."""
QA_MIN_SCORE = 0.2
MAX_TOKENS = 48
HISTORY_TURNS = 2
DECLINED = "The sources don't say."

SYSTEM = (
    "You answer questions using only the numbered source sentences. Answer in one short sentence that keeps the "
    "facts of the source sentence and cite its number in brackets, like [1]."
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
    phrase: bool = True
    """Let the generator phrase the answer from the evidence; False quotes the best evidence sentence."""
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
    """phrased (generator, from the evidence), extractive (QA model), quoted (best evidence sentence) or none."""
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


def prompt(question: str, evidence: list[Evidence], history: list[tuple[str, str]]) -> list:
    """The chat messages: instructions, earlier turns of the conversation, the evidence sentences and the question."""
    listed = "\n".join(f"[{e.n}] {e.text}" for e in evidence)
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


def _phrase(services, question, passages, evidence, history, callbacks, answer: AskAnswer) -> list[str]:
    """Let the generator phrase a short answer from the evidence sentences only; keep what the verifier accepts."""
    target = services.target
    ledger = LedgerHandler(
        services.engine,
        CallContext(collection_id=services.collection_id, stage=STAGE),
        counter=token_counter_for(target.model),
    )
    used = {e.n: passages[e.n] for e in evidence}
    kept: list[str] = []

    def accept(sentence: str) -> None:
        if len(kept) >= MAX_SENTENCES or _DECLINE_RE.search(sentence):
            answer.dropped.append(sentence)
            return
        cited = cite_closest(sentence, used)
        informative = keeps_the_facts(strip_citations(sentence), evidence, question)
        if informative and check(cited, passages, services.vocabulary) and _relevant(services, question, sentence):
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
        prompt(question, evidence, history),
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
    sentence = f"{readable(best[2]).rstrip().rstrip('.')} [{best[1]}]."
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


def _quote(services, passages, best: Evidence, callbacks) -> list[str]:
    """The best evidence sentence itself, cited (when the verifier accepts it, as it should for a source's words)."""
    sentence = f"{strip_citations(best.text).rstrip().rstrip('.')} [{best.n}]."
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
    query = retrieval_query(question, history)
    passages = find_passages(services, query)
    answer.passages = passages
    kept: list[str] = []
    if passages and services.qa is not None:
        kept, answer.method = _extract(services, question, passages, callbacks, answer), "extractive"
    ranked = rank(services.embeddings, question, passages, query) if passages and not kept else []
    evidence = [e for e in ranked if e.answers][:EVIDENCE_SENTENCES]
    if evidence and services.target is not None and services.phrase:
        kept, answer.method = _phrase(services, question, passages, evidence, history, callbacks, answer), "phrased"
    if evidence and not kept:
        kept, answer.method = _quote(services, passages, evidence[0], callbacks), "quoted"
    if kept:
        answer.text, answer.declined = " ".join(kept), False
        answer.report = verify_text(answer.text, passages, vocabulary=services.vocabulary)
    else:
        answer.method = "none"
        answer.text = DECLINED if passages else f"{DECLINED} No passage of this collection is close to the question."
    answer.latency_ms = int((time.perf_counter() - started) * 1000)
    return answer
