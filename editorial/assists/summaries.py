"""Summaries: extractive with the embedding model (the default), or a configured seq2seq model, verified.

Used for "Summarize a source" on the Sources page and as the fallback of the description assist.
"""

from __future__ import annotations

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
    if model is not None:
        with ledger_call(
            engine, stage=SOURCE_STAGE, backend="transformers", model=model.name, collection_id=collection_id
        ) as record:
            record.prompt_tokens = min(model.count(bounded(text, 20_000)), pipelines.MAX_INPUT_TOKENS)
            generated = pipelines.summarize(model, text)
            record.completion_tokens = model.count(generated)
        kept, refused = verified_sentences(generated, passages_of(chunks, source_name), vocabulary)
        if kept:
            return Summary(" ".join(kept), model.name, refused)
    else:
        refused = []
    counter = embedding_counter(embeddings)
    with ledger_call(
        engine, stage=SOURCE_STAGE, backend="embedded", model=embedding_name(settings), collection_id=collection_id
    ) as record:
        record.prompt_tokens = counter.count_text(bounded(text, 50_000))
        chosen = extractive(embeddings, text)
    if not chosen:
        return Summary("This source has no sentences to summarize (only code, tables or headings).", "none", refused)
    return Summary(" ".join(chosen), "extractive", refused)
