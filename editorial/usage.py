"""The token ledger: a LangChain callback that stores one ``llm_call`` row per model call when it ends.

Each row is written in its own short transaction, on success and on error, so a run that fails midway keeps
the usage of its finished calls. Tokens come from the response's ``usage_metadata`` when the backend reports
it (OpenAI-compatible servers, endpoints); local pipelines report none, so the handler counts prompt and
completion tokens with the model's own tokenizer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult
from pydantic import BaseModel
from sqlalchemy import Engine

from db.crud import usage as usage_crud
from db.models import CallStatus
from db.session import session_scope


class UsageMetrics(BaseModel):
    """Run totals in the shape of CrewAI's ``UsageMetrics``."""

    total_tokens: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    completion_tokens: int = 0
    successful_requests: int = 0

    def add(self, other: UsageMetrics) -> UsageMetrics:
        """The sum of two totals."""
        return UsageMetrics(**{name: getattr(self, name) + getattr(other, name) for name in UsageMetrics.model_fields})

    def summary(self) -> str:
        """One line for the CLI and pages."""
        return (
            f"{self.total_tokens:,} tokens ({self.prompt_tokens:,} prompt, {self.cached_prompt_tokens:,} cached, "
            f"{self.completion_tokens:,} completion) in {self.successful_requests} successful requests"
        )


def usage_metrics(engine: Engine, *, run_id: int | None = None, draft_id: int | None = None) -> UsageMetrics:
    """Totals of a run or a draft from the ledger."""
    with session_scope(engine) as session:
        found = usage_crud.totals(session=session, run_id=run_id, draft_id=draft_id)
    found.pop("requests", None)
    return UsageMetrics(**found)


# --------------------------------------------------------------------------- token counting
class TokenCounter:
    """Counts tokens with a Hugging Face tokenizer (chat template for prompts), or estimates without one."""

    def __init__(self, tokenizer: Any | None = None):
        self.tokenizer = tokenizer

    @property
    def exact(self) -> bool:
        """True when a real tokenizer counts (not the 4-characters-per-token estimate)."""
        return self.tokenizer is not None

    def count_text(self, text: str) -> int:
        """Tokens in plain text."""
        if not text:
            return 0
        if self.tokenizer is None:
            return max(1, round(len(text) / 4))
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def count_messages(self, messages: Sequence[BaseMessage]) -> int:
        """Tokens of a chat prompt as the model sees it (chat template with the generation prompt)."""
        if self.tokenizer is not None and getattr(self.tokenizer, "chat_template", None):
            roles = {"human": "user", "ai": "assistant", "system": "system"}
            dicts = [{"role": roles.get(m.type, "user"), "content": _text_of(m.content)} for m in messages]
            try:
                ids = self.tokenizer.apply_chat_template(dicts, add_generation_prompt=True, tokenize=True)
                if isinstance(ids, dict) or hasattr(ids, "keys"):
                    ids = ids["input_ids"]
                return len(ids)
            except Exception:  # a template that refuses these roles: count the plain text
                pass
        return sum(self.count_text(_text_of(m.content)) for m in messages)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in content)
    return str(content)


def token_counter_for(model: Any) -> TokenCounter:
    """A counter using the tokenizer of a local chat model (``ChatHuggingFace``), or an estimating one."""
    for path in ("tokenizer", "loaded.tokenizer", "llm.pipeline.tokenizer", "llm.tokenizer"):
        target = model
        for part in path.split("."):
            target = getattr(target, part, None)
            if target is None:
                break
        if target is not None and hasattr(target, "encode"):
            return TokenCounter(target)
    return TokenCounter(None)


# --------------------------------------------------------------------------- the callback
@dataclass
class CallContext:
    """What the next calls belong to; the chain changes ``stage`` as it goes."""

    run_id: int | None = None
    draft_id: int | None = None
    collection_id: int | None = None
    stage: str = ""
    backend: str = ""
    model: str = ""


@dataclass
class _Pending:
    started: float
    context: CallContext
    prompt_tokens: int
    streamed: list[str] = field(default_factory=list)


RecordedCall = dict[str, Any]


class LedgerHandler(BaseCallbackHandler):
    """Writes one ``llm_call`` row per chat-model call when it ends (success or error).

    Args:
        engine: The database to write to.
        context: Run, draft, collection, stage, backend and model of the calls (read when a call starts).
        counter: Counts tokens when the response has no ``usage_metadata`` (local pipelines).
        on_recorded: Optional function called with each stored row's fields (progress displays).
    """

    raise_error = False
    run_inline = True

    def __init__(
        self,
        engine: Engine | None,
        context: CallContext,
        counter: TokenCounter | None = None,
        on_recorded: Callable[[RecordedCall], None] | None = None,
    ):
        self.engine = engine
        self.context = context
        self.counter = counter or TokenCounter(None)
        self.on_recorded = on_recorded
        self.recorded: list[RecordedCall] = []
        self._pending: dict[UUID, _Pending] = {}
        self._lock = threading.Lock()
        self._early_close = False

    # -- start
    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        """Remember when the call started, its context and its prompt size."""
        self._begin(run_id, self.counter.count_messages(messages[0]) if messages else 0)

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID, **kwargs: Any) -> None:
        """Same as :meth:`on_chat_model_start` for plain LLMs."""
        self._begin(run_id, sum(self.counter.count_text(text) for text in prompts))

    def _begin(self, run_id: UUID, prompt_tokens: int) -> None:
        with self._lock:
            self._pending[run_id] = _Pending(time.perf_counter(), _copy(self.context), prompt_tokens)
            self._early_close = False  # a mark left by a stream that ended on its own belongs to no later call

    def on_llm_new_token(self, token: str, *, run_id: UUID, **kwargs: Any) -> None:
        """Keep streamed text so a failed call can still count what it produced."""
        pending = self._pending.get(run_id)
        if pending is not None:
            pending.streamed.append(token)

    def expect_early_close(self) -> None:
        """The caller is about to close a stream it stopped on purpose (a loop guard): record it as a success."""
        self._early_close = True

    # -- end
    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Store the call with the reported usage, or the tokenizer's count."""
        with self._lock:
            pending = self._pending.pop(run_id, None)
        if pending is None:
            return
        prompt, completion, cached = _usage_from(response)
        if prompt is None:
            prompt = pending.prompt_tokens
        if completion is None:
            completion = self.counter.count_text(_generated_text(response) or "".join(pending.streamed))
        self._store(pending, prompt, completion, cached or 0, CallStatus.OK, None)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Store the failed call: its prompt tokens and whatever it streamed before failing."""
        with self._lock:
            pending = self._pending.pop(run_id, None)
        if pending is None:
            return
        completion = self.counter.count_text("".join(pending.streamed))
        early, self._early_close = self._early_close, False
        if isinstance(error, GeneratorExit) and early:  # stopped by the caller's guard: the call did its job
            self._store(pending, pending.prompt_tokens, completion, 0, CallStatus.OK, None)
            return
        if isinstance(error, GeneratorExit):  # the stream was closed early: the editor cancelled
            message = "cancelled: the stream was closed before the answer ended"
        else:
            message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".strip()
        self._store(pending, pending.prompt_tokens, completion, 0, CallStatus.ERROR, message[:500])

    def _store(
        self, pending: _Pending, prompt: int, completion: int, cached: int, status: CallStatus, error: str | None
    ) -> None:
        context = pending.context
        row: RecordedCall = {
            "run_id": context.run_id,
            "draft_id": context.draft_id,
            "collection_id": context.collection_id,
            "stage": context.stage[:64],
            "backend": context.backend[:32],
            "model": context.model[:256],
            "prompt_tokens": int(prompt),
            "completion_tokens": int(completion),
            "cached_prompt_tokens": int(cached),
            "total_tokens": int(prompt) + int(completion),
            "latency_ms": int((time.perf_counter() - pending.started) * 1000),
            "status": status,
            "error": error,
        }
        if self.engine is not None:
            with session_scope(self.engine) as session:
                usage_crud.record_call(session=session, **row)
        self.recorded.append(row)
        if self.on_recorded is not None:
            self.on_recorded(row)

    def metrics(self) -> UsageMetrics:
        """Totals of the calls this handler recorded."""
        total = UsageMetrics()
        for row in self.recorded:
            total = total.add(
                UsageMetrics(
                    total_tokens=row["total_tokens"],
                    prompt_tokens=row["prompt_tokens"],
                    cached_prompt_tokens=row["cached_prompt_tokens"],
                    completion_tokens=row["completion_tokens"],
                    successful_requests=1 if row["status"] == CallStatus.OK else 0,
                )
            )
        return total


def _copy(context: CallContext) -> CallContext:
    return CallContext(**vars(context))


def _usage_from(response: LLMResult) -> tuple[int | None, int | None, int | None]:
    """Prompt, completion and cached-prompt tokens reported by the backend (None when not reported)."""
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            usage = getattr(message, "usage_metadata", None) if message is not None else None
            if usage:
                details = usage.get("input_token_details") or {}
                return usage.get("input_tokens"), usage.get("output_tokens"), details.get("cache_read")
    token_usage = (response.llm_output or {}).get("token_usage") or (response.llm_output or {}).get("usage")
    if token_usage:
        details = token_usage.get("prompt_tokens_details") or {}
        return token_usage.get("prompt_tokens"), token_usage.get("completion_tokens"), details.get("cached_tokens")
    return None, None, None


def _generated_text(response: LLMResult) -> str:
    parts = []
    for generations in response.generations:
        for generation in generations:
            parts.append(generation.text or "")
    return "".join(parts)


# --------------------------------------------------------------------------- reports (Usage page, CLI)
LOCAL_BACKENDS = frozenset({"embedded", "transformers"})
"""Calls to these backends cost nothing, whatever price is set."""

REPORT_COLUMNS = [
    "created_at", "day", "run_id", "draft_id", "draft", "collection_id", "stage", "stage_group", "backend", "model",
    "prompt_tokens", "cached_prompt_tokens", "completion_tokens", "total_tokens", "latency_ms", "status", "cost",
]  # fmt: skip


def stage_group(stage: str) -> str:
    """``section 3`` and ``section 3 continue`` → ``section``; other stages unchanged."""
    return "section" if stage.startswith("section") else (stage or "other")


def call_cost(row: dict[str, Any], prices: dict[str, tuple[float, float]]) -> float:
    """Estimated cost of one call from per-million-token prices (local backends cost 0)."""
    if row.get("backend") in LOCAL_BACKENDS:
        return 0.0
    prompt_price, completion_price = prices.get(row.get("model") or "", (0.0, 0.0))
    return (row["prompt_tokens"] * prompt_price + row["completion_tokens"] * completion_price) / 1_000_000


def usage_rows(
    engine: Engine,
    *,
    since: Any = None,
    until: Any = None,
    collection_id: int | None = None,
    draft_id: int | None = None,
    run_id: int | None = None,
) -> list[dict[str, Any]]:
    """Ledger rows as dicts with draft title, stage group and estimated cost (the report's raw data)."""
    with session_scope(engine) as session:
        calls = usage_crud.list_calls(
            session=session, since=since, until=until, collection_id=collection_id, draft_id=draft_id, run_id=run_id
        )
        prices = {
            p.model: (p.prompt_per_million, p.completion_per_million) for p in usage_crud.list_prices(session=session)
        }
        titles = usage_crud.draft_titles(session=session, draft_ids=sorted({c.draft_id for c in calls if c.draft_id}))
    rows = []
    for call in calls:
        row = {
            "created_at": call.created_at,
            "day": call.created_at.date().isoformat(),
            "run_id": call.run_id,
            "draft_id": call.draft_id,
            "draft": titles.get(call.draft_id, "") if call.draft_id else "",
            "collection_id": call.collection_id,
            "stage": call.stage,
            "stage_group": stage_group(call.stage),
            "backend": call.backend,
            "model": call.model,
            "prompt_tokens": call.prompt_tokens,
            "cached_prompt_tokens": call.cached_prompt_tokens,
            "completion_tokens": call.completion_tokens,
            "total_tokens": call.total_tokens,
            "latency_ms": call.latency_ms,
            "status": str(call.status.value if hasattr(call.status, "value") else call.status),
        }
        row["cost"] = call_cost(row, prices)
        rows.append(row)
    return rows


def tokens_per_word(engine: Engine, rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """For each draft in ``rows``: its tokens, current word count and tokens per published word."""
    totals: dict[int, int] = {}
    for row in rows:
        if row["draft_id"]:
            totals[row["draft_id"]] = totals.get(row["draft_id"], 0) + row["total_tokens"]
    with session_scope(engine) as session:
        words = usage_crud.draft_word_counts(session=session, draft_ids=sorted(totals))
    return {
        draft_id: {
            "tokens": tokens,
            "words": words.get(draft_id, 0),
            "tokens_per_word": round(tokens / words[draft_id], 2) if words.get(draft_id) else None,
        }
        for draft_id, tokens in totals.items()
    }


def metrics_of(rows: list[dict[str, Any]]) -> UsageMetrics:
    """UsageMetrics totals of report rows."""
    return UsageMetrics(
        total_tokens=sum(r["total_tokens"] for r in rows),
        prompt_tokens=sum(r["prompt_tokens"] for r in rows),
        cached_prompt_tokens=sum(r["cached_prompt_tokens"] for r in rows),
        completion_tokens=sum(r["completion_tokens"] for r in rows),
        successful_requests=sum(1 for r in rows if r["status"] == CallStatus.OK.value),
    )
