"""Fakes for the chain's unit tests: a chat model that records its prompts, and a collection search."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

Responder = Callable[[list[BaseMessage]], str]


class RecordingChatModel(BaseChatModel):
    """Answers with ``responder(messages)``, records every prompt, streams word by word, reports usage."""

    responder: Any
    prompts: list = Field(default_factory=list)
    report_usage: bool = True
    fail_when: Any = None
    """A function of the prompt text returning True when the call must raise."""
    on_chunk: Any = None
    """Called after each streamed chunk (tests use it to cancel mid-section)."""

    @property
    def _llm_type(self) -> str:
        return "recording-fake"

    def _answer(self, messages: list[BaseMessage]) -> str:
        text = "\n".join(str(m.content) for m in messages)
        self.prompts.append(text)
        if self.fail_when is not None and self.fail_when(text):
            raise RuntimeError("backend exploded")
        return self.responder(messages)

    def _usage(self, messages: list[BaseMessage], answer: str) -> dict | None:
        if not self.report_usage:
            return None
        prompt = sum(len(str(m.content).split()) for m in messages)
        completion = len(answer.split())
        return {"input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion}

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        answer = self._answer(messages)
        message = AIMessage(content=answer, usage_metadata=self._usage(messages, answer))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        answer = self._answer(messages)
        for piece in re.findall(r"\S+\s*|\s+", answer):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
            if self.on_chunk is not None:
                self.on_chunk(piece)
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=self._usage(messages, answer)))


def last_user(messages: list[BaseMessage]) -> str:
    return str(messages[-1].content)


def words(n: int, cite: str = "") -> str:
    """A paragraph of ``n`` words about retrieval, in sentences of ten words."""
    sentences = []
    for i in range(0, n, 10):
        count = min(10, n - i)
        sentences.append(" ".join(["retrieval"] + ["chunks"] * (count - 1)) + ".")
    text = " ".join(sentences)
    return text[:-1] + f" {cite}." if cite else text


def good_responder(messages: list[BaseMessage]) -> str:
    """Answers every planner and writer prompt in the expected format."""
    user = last_user(messages)
    if "section headings" in user:
        return (
            "1. Why Chunk Size Matters\n2. Embedding Models Compared\n3. Evaluating Retrieval Quality\n"
            "4. Scaling the Index"
        )
    if user.startswith("Topic:") and "Sections:" in user:
        return (
            "Title: Retrieval That Works: A Field Guide\n"
            "Description: How to build retrieval that finds the right text.\n"
            "Angle: Retrieval quality decides answer quality.\nValue: You will tune chunking and evaluate retrieval."
        )
    if user.startswith("Post:") and "\nSection:" in user:
        return "- Smaller chunks give precise matches\n- Overlap keeps context"
    if user.startswith("Post:") and "Sections:" in user:
        return "Conclusion: Good retrieval is measured, not guessed.\n- Measure recall\n- Tune chunk size"
    fact = edited_fact(user)
    if fact:
        return paraphrase(fact)
    match = re.search(r"Write about (\d+) words", user)
    if match:
        return words(int(match.group(1)), cite="[1]")
    return "ok"


def edited_fact(user: str) -> str:
    """The fact a writer prompt asks to copy-edit (``…Edit: fact`` or ``Edit with other words: fact``), or ""."""
    match = re.search(r"(?:^|\n)Edit(?: with other words)?: (.+)$", user)
    return match.group(1).strip() if match else ""


def paraphrase(fact: str) -> str:
    """A faithful rewrite of ``fact`` that copies no run of 8 words (a filler word after every fourth word)."""
    out = []
    for i, word in enumerate(fact.split(), start=1):
        out.append(word)
        if i % 4 == 0 and i < len(fact.split()):
            out.append("indeed")
    return " ".join(out)


@dataclass(frozen=True)
class FakePassage:
    text: str
    source_id: int
    source_name: str
    location: str
    chunk_index: int
    score: float
    chunk_id: str


CORPUS = [
    FakePassage(
        "Chunk size and overlap affect retrieval quality. Smaller chunks give precise matches. "
        "Larger chunks keep more context around each answer for the reader. "
        "An overlap of one or two sentences keeps ideas from being cut in half. "
        "Splitting on headings and paragraphs follows the structure of the document.",
        1,
        "chunking.md",
        "Chunking > Size",
        0,
        0.8,
        "c1",
    ),
    FakePassage(
        "Embedding models map text to vectors; MiniLM is small and fast. "
        "Similar passages end up close together in the vector space. "
        "A larger embedding model often finds better matches but costs more time per query. "
        "The same model must embed both the documents and the questions.",
        2,
        "embeddings.md",
        "",
        0,
        0.7,
        "c2",
    ),
    FakePassage(
        "Evaluate retrieval with recall at k and faithfulness of answers. "
        "A small set of real questions with known answers makes a useful test collection. "
        "Faithfulness checks whether every claim of an answer appears in the retrieved passages. "
        "Measure again after every change to chunking or embeddings.",
        3,
        "evaluation.pdf",
        "page 2",
        0,
        0.6,
        "c3",
    ),
    FakePassage(
        "Scaling an index needs approximate nearest neighbour search such as HNSW. "
        "Approximate search trades a little recall for much faster queries on large collections. "
        "Metadata filters narrow a search to the documents that matter for a question.",
        2,
        "embeddings.md",
        "Scaling",
        1,
        0.5,
        "c4",
    ),
    FakePassage(
        "Retrieval quality decides answer quality in a RAG system. "
        "Documentation teams index their guides so that readers can search them in plain language. "
        "Every answer should point back to the passage it came from. "
        "Stale documents give stale answers, so the index needs regular updates.",
        4,
        "rag-guide.md",
        "Overview",
        0,
        0.55,
        "c5",
    ),
    FakePassage(
        "Chunk boundaries matter more than most teams expect. "
        "Tables and code blocks should stay whole inside a single chunk. "
        "Short chunks suit precise questions while long chunks suit broad ones. "
        "Tuning chunk size against a test collection beats guessing it.",
        1,
        "chunking.md",
        "Chunking > Boundaries",
        2,
        0.52,
        "c6",
    ),
    FakePassage(
        "Comparing embedding models starts with the questions your readers actually ask. "
        "Multilingual models help when documentation exists in several languages. "
        "Embedding dimension affects both storage size and search speed. "
        "Normalised vectors let cosine similarity and dot product rank passages the same way.",
        2,
        "embeddings.md",
        "Comparing models",
        2,
        0.5,
        "c7",
    ),
    FakePassage(
        "Retrieval evaluation needs both automatic metrics and human review. "
        "Precision at k shows how many retrieved passages are relevant. "
        "Reviewers should read the retrieved passages, not only the final answers. "
        "Regression tests catch retrieval that silently gets worse after an update.",
        3,
        "evaluation.pdf",
        "page 5",
        1,
        0.48,
        "c8",
    ),
]


def fake_search(corpus: list[FakePassage] | None = None, *, score: float | None = None):
    """A Search over ``corpus``: passages ranked by shared words with the query."""
    corpus = CORPUS if corpus is None else corpus
    calls: list[str] = []

    def search(query: str, k: int) -> list[FakePassage]:
        calls.append(query)
        wanted = set(re.findall(r"[a-z]{4,}", query.lower()))
        ranked = sorted(corpus, key=lambda p: -len(wanted & set(re.findall(r"[a-z]{4,}", p.text.lower()))))
        if score is not None:
            ranked = [FakePassage(**{**p.__dict__, "score": score}) for p in ranked]
        return ranked[:k]

    search.calls = calls  # type: ignore[attr-defined]
    return search


def cancel_after(event: threading.Event, chunks: int) -> Callable[[str], None]:
    seen = {"n": 0}

    def hook(piece: str) -> None:
        seen["n"] += 1
        if seen["n"] >= chunks:
            event.set()

    return hook
