"""What every assist shares: ledger rows for calls outside LangChain, sentences, embedding similarity."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Engine

from db.crud import usage as usage_crud
from db.models import CallStatus
from db.session import session_scope
from editorial.embeddings import EMBEDDED_EMBEDDING_NAME
from editorial.errors import EditorialError
from editorial.grounding.schemas import Passage
from editorial.settings import EMBEDDED, Settings
from editorial.usage import TokenCounter

log = logging.getLogger(__name__)

MAX_INPUT_CHARS = 200_000
"""Longest text an assist reads (a post or a source); the rest is ignored."""


class AssistFailed(EditorialError):
    """An assist could not finish (the message says which and why, in one line)."""


@dataclass
class CallRecord:
    """Tokens of one assist call, filled in while it runs and stored when it ends."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@contextmanager
def ledger_call(
    engine: Engine | None,
    *,
    stage: str,
    backend: str,
    model: str,
    draft_id: int | None = None,
    collection_id: int | None = None,
) -> Iterator[CallRecord]:
    """Store one ``llm_call`` row for a model call made outside LangChain (task pipelines, embeddings).

    The row is written when the block ends, with status ``error`` and the reason when it raised.
    """
    record = CallRecord()
    started = time.perf_counter()
    status, error = CallStatus.OK, None
    try:
        yield record
    except BaseException as exc:
        status, error = CallStatus.ERROR, f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"[:500]
        raise
    finally:
        if engine is not None:
            with session_scope(engine) as session:
                usage_crud.record_call(
                    session=session,
                    draft_id=draft_id,
                    collection_id=collection_id,
                    stage=stage[:64],
                    backend=backend[:32],
                    model=model[:256],
                    prompt_tokens=record.prompt_tokens,
                    completion_tokens=record.completion_tokens,
                    latency_ms=int((time.perf_counter() - started) * 1000),
                    status=status,
                    error=error,
                )


def embedding_name(settings: Settings) -> str:
    """The embedding model's name for the ledger."""
    if settings.embedding_model == EMBEDDED:
        return EMBEDDED_EMBEDDING_NAME.split("/")[-1]
    return settings.embedding_model


def embedding_counter(embeddings: Any) -> TokenCounter:
    """A token counter with the embedding model's own tokenizer (an estimate when it has none)."""
    client = getattr(embeddings, "_client", None)
    tokenizer = getattr(client, "tokenizer", None)
    return TokenCounter(tokenizer if tokenizer is not None and hasattr(tokenizer, "encode") else None)


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9\"'(\[`*])")
_CITATION = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_WORD = re.compile(r"[a-z0-9]+")


def sentences(text: str) -> list[str]:
    """Sentences of plain or Markdown text (headings, code blocks and list markers dropped)."""
    out: list[str] = []
    in_code = False
    for paragraph in re.split(r"\n\s*\n", text):
        lines = []
        for line in paragraph.splitlines():
            stripped = line.strip()
            if stripped.startswith("```"):
                in_code = not in_code
                continue
            if in_code or not stripped or stripped.startswith(("#", "|", "<")):
                continue
            lines.append(re.sub(r"^([-*+]|\d+[.)])\s+", "", stripped))
        joined = " ".join(lines)
        out += [part.strip() for part in _SENTENCE_END.split(joined) if len(part.strip()) > 1]
    return out


def strip_citations(text: str) -> str:
    """``text`` without ``[n]`` markers."""
    return _CITATION.sub("", text).strip()


def markdown_sections(body: str) -> list[tuple[str, str]]:
    """(heading, text) of each ``#``-section of a Markdown body; text before the first heading is "Introduction"."""
    found: list[tuple[str, list[str]]] = [("Introduction", [])]
    in_code = False
    for line in body.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        match = None if in_code else re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if match:
            found.append((match.group(1).strip(), []))
        else:
            found[-1][1].append(line)
    return [(heading, "\n".join(lines).strip()) for heading, lines in found if "\n".join(lines).strip()]


def embed(embeddings: Any, texts: list[str]) -> np.ndarray:
    """Unit-length embedding vectors of ``texts`` (rows)."""
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    vectors = np.asarray(embeddings.embed_documents(texts), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def bounded(text: str, limit: int = MAX_INPUT_CHARS) -> str:
    """``text`` cut to ``limit`` characters."""
    return text[:limit] if len(text) > limit else text


def cite_closest(sentence: str, passages: dict[int, Passage]) -> str:
    """``sentence`` with the passage it shares most words with cited, when it cites none."""
    if re.search(r"\[\d+\]", sentence) or not passages:
        return sentence
    words = set(_WORD.findall(sentence.lower()))
    best = max(passages.values(), key=lambda p: len(words & set(_WORD.findall(p.text.lower()))))
    if not words & set(_WORD.findall(best.text.lower())):
        return sentence
    end = len(sentence.rstrip().rstrip(".!?"))
    return f"{sentence[:end]} [{best.n}]{sentence[end:]}"
