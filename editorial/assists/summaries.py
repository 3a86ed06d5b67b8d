"""Summaries: extractive with the embedding model (the default), or a configured seq2seq model, verified.

Used for "Summarize a source" on the Sources page and as the fallback of the description assist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from editorial.assists import pipelines
from editorial.assists.common import (
    bounded,
    cite_closest,
    embed,
    embedding_counter,
    embedding_name,
    ledger_call,
    sentences,
)
from editorial.grounding.schemas import Passage, SentenceStatus
from editorial.grounding.verify import verify_text
from editorial.retrieval import source_chunks

SOURCE_STAGE = "assist source summary"
MAX_SENTENCES = 400
"""Sentences considered for an extractive summary (the first ones of the text)."""
MAX_PASSAGES = 40


@dataclass
class Summary:
    """A summary, how it was made, and generated sentences the verifier refused (never shown as the summary)."""

    text: str
    method: str
    """extractive (embedding model) or the summarization model's name."""
    refused: list[str] = field(default_factory=list)


def extractive(embeddings: Any, text: str, *, count: int = 3, max_words: int = 45) -> list[str]:
    """The ``count`` sentences most central to ``text`` (closest to its mean embedding), in document order.

    A sentence too close to one already chosen (cosine > 0.9) is skipped, so the summary does not repeat itself.
    """
    found = [s for s in sentences(bounded(text)) if 5 <= len(s.split()) <= max_words][:MAX_SENTENCES]
    if not found:
        return []
    vectors = embed(embeddings, found)
    centre = vectors.mean(axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    order = np.argsort(-(vectors @ centre))
    chosen: list[int] = []
    for index in order:
        if all(float(vectors[index] @ vectors[other]) <= 0.9 for other in chosen):
            chosen.append(int(index))
        if len(chosen) == count:
            break
    return [found[i] for i in sorted(chosen)]


def passages_of(texts: list[str], name: str = "") -> dict[int, Passage]:
    """Numbered passages (for the verifier) from pieces of text."""
    return {n: Passage(n=n, text=t, source_name=name) for n, t in enumerate(texts[:MAX_PASSAGES], start=1) if t}


def verified_sentences(text: str, passages: dict[int, Passage], vocabulary: Any = None) -> tuple[list[str], list[str]]:
    """Split generated ``text`` into sentences the verifier supports (with a passage's [n]) and refused ones."""
    kept: list[str] = []
    refused: list[str] = []
    for sentence in sentences(text):
        cited = cite_closest(sentence, passages)
        report = verify_text(cited, passages, vocabulary=vocabulary)
        supported = report.count(SentenceStatus.SUPPORTED) > 0 and not report.unsupported
        (kept if supported else refused).append(sentence)
    return kept, refused


@dataclass
class Checked:
    """What :func:`generate_checked` made: the sentences to show, how, and generated sentences the verifier refused."""

    sentences: list[str]
    method: str
    refused: list[str] = field(default_factory=list)


def generate_checked(
    generate: Callable[[], str] | None,
    method: str,
    passages: dict[int, Passage],
    fallback: Callable[[], list[str]],
    fallback_method: str,
    vocabulary: Any = None,
) -> Checked:
    """Generate, keep the sentences the verifier finds in ``passages``, else fall back to an extractive choice.

    The one sequence behind every generated assist text (a description, a source summary): generated text is never
    shown unless the verifier supports it. ``generate`` (None when no model is available) records its own call;
    ``fallback`` is only called when generation gave no supported sentence.
    """
    refused: list[str] = []
    if generate is not None:
        generated = generate()
        if generated:
            kept, refused = verified_sentences(generated, passages, vocabulary)
            if kept:
                return Checked(kept, method, refused)
    return Checked(fallback(), fallback_method, refused)


def summarize_recorded(
    engine, model: pipelines.TaskModel, text: str, *, stage: str, max_new_tokens: int | None = None, **owner: Any
) -> str:
    """Run the summarization model on ``text`` and record the call (``owner``: draft_id or collection_id)."""
    with ledger_call(engine, stage=stage, backend="transformers", model=model.name, **owner) as record:
        record.prompt_tokens = min(model.count(bounded(text, 20_000)), pipelines.MAX_INPUT_TOKENS)
        extra = {} if max_new_tokens is None else {"max_new_tokens": max_new_tokens}
        generated = pipelines.summarize(model, text, **extra)
        record.completion_tokens = model.count(generated)
    return generated


def central_recorded(
    settings, engine, embeddings: Any, text: str, *, stage: str, count: int = 3, max_words: int = 45, **owner: Any
) -> list[str]:
    """:func:`extractive` with the embedding model, recorded in the ledger (``owner``: draft_id or collection_id)."""
    counter = embedding_counter(embeddings)
    with ledger_call(engine, stage=stage, backend="embedded", model=embedding_name(settings), **owner) as record:
        record.prompt_tokens = counter.count_text(bounded(text, 50_000))
        return extractive(embeddings, text, count=count, max_words=max_words)


def summarize_source(
    settings,
    engine,
    embeddings: Any,
    *,
    chroma_name: str,
    source_key: str,
    source_name: str,
    collection_id: int | None = None,
    vocabulary: Any = None,
) -> Summary:
    """What one stored source covers, in a few sentences (recorded in the ledger).

    Raises:
        TaskModelUnavailable: a summarization model is configured but cannot be loaded.
    """
    chunks = [chunk.text for chunk in source_chunks(settings, chroma_name=chroma_name, source_key=source_key)]
    text = "\n\n".join(chunks)
    if not text.strip():
        return Summary("This source has no stored text.", "none")
    model = pipelines.load_task_model(settings, "summarization")
    owner = {"collection_id": collection_id}
    checked = generate_checked(
        (lambda: summarize_recorded(engine, model, text, stage=SOURCE_STAGE, **owner)) if model else None,
        model.name if model else "",
        passages_of(chunks, source_name),
        lambda: central_recorded(settings, engine, embeddings, text, stage=SOURCE_STAGE, **owner),
        "extractive",
        vocabulary,
    )
    if not checked.sentences:
        return Summary(
            "This source has no sentences to summarize (only code, tables or headings).", "none", checked.refused
        )
    return Summary(" ".join(checked.sentences), checked.method, checked.refused)
