"""The token ledger: model calls, run and draft totals, per-model prices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from db.models import CallStatus, Draft, LLMCall, ModelPrice


def record_call(*, session: Session, **fields: Any) -> LLMCall:
    """Insert one model call (fields of :class:`LLMCall`); ``total_tokens`` defaults to prompt + completion."""
    call = LLMCall(**fields)
    if not call.total_tokens:
        call.total_tokens = call.prompt_tokens + call.completion_tokens
    session.add(call)
    session.flush()
    return call


def assign_draft(*, session: Session, run_id: int, draft_id: int) -> int:
    """Attach a run's calls to the draft it produced; return how many rows changed."""
    calls = list(session.exec(select(LLMCall).where(LLMCall.run_id == run_id, col(LLMCall.draft_id).is_(None))))
    for call in calls:
        call.draft_id = draft_id
        session.add(call)
    session.flush()
    return len(calls)


def assign_plan_calls(*, session: Session, plan_id: int, draft_id: int) -> int:
    """Attach the calls of the runs that made plan ``plan_id`` (and are not yet attached) to ``draft_id``."""
    from db.models import Run, RunKind

    run_ids = list(session.exec(select(Run.id).where(Run.plan_id == plan_id, Run.kind == RunKind.PLAN)))
    return sum(assign_draft(session=session, run_id=run_id, draft_id=draft_id) for run_id in run_ids)


def list_calls(
    *,
    session: Session,
    run_id: int | None = None,
    draft_id: int | None = None,
    collection_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[LLMCall]:
    """Calls matching every given filter, oldest first (``until`` is exclusive)."""
    query = select(LLMCall)
    if run_id is not None:
        query = query.where(LLMCall.run_id == run_id)
    if draft_id is not None:
        query = query.where(LLMCall.draft_id == draft_id)
    if collection_id is not None:
        query = query.where(LLMCall.collection_id == collection_id)
    if since is not None:
        query = query.where(LLMCall.created_at >= since)
    if until is not None:
        query = query.where(LLMCall.created_at < until)
    query = query.order_by(col(LLMCall.created_at), col(LLMCall.id))
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def totals(*, session: Session, run_id: int | None = None, draft_id: int | None = None) -> dict[str, int]:
    """Usage totals in the shape of CrewAI's UsageMetrics (successful_requests counts calls that ended well)."""
    query = select(
        func.coalesce(func.sum(LLMCall.total_tokens), 0),
        func.coalesce(func.sum(LLMCall.prompt_tokens), 0),
        func.coalesce(func.sum(LLMCall.cached_prompt_tokens), 0),
        func.coalesce(func.sum(LLMCall.completion_tokens), 0),
        func.count(),
        func.coalesce(func.sum(case((LLMCall.status == CallStatus.OK, 1), else_=0)), 0),
    )
    if run_id is not None:
        query = query.where(LLMCall.run_id == run_id)
    if draft_id is not None:
        query = query.where(LLMCall.draft_id == draft_id)
    total, prompt, cached, completion, requests, ok = session.exec(query).one()
    return {
        "total_tokens": int(total),
        "prompt_tokens": int(prompt),
        "cached_prompt_tokens": int(cached),
        "completion_tokens": int(completion),
        "successful_requests": int(ok),
        "requests": int(requests),
    }


def draft_word_counts(*, session: Session, draft_ids: list[int]) -> dict[int, int]:
    """Current word count of each given draft."""
    if not draft_ids:
        return {}
    rows = session.exec(select(Draft.id, Draft.word_count, Draft.title).where(col(Draft.id).in_(draft_ids)))
    return {draft_id: words for draft_id, words, _title in rows}


def draft_titles(*, session: Session, draft_ids: list[int]) -> dict[int, str]:
    """Title of each given draft."""
    if not draft_ids:
        return {}
    return dict(session.exec(select(Draft.id, Draft.title).where(col(Draft.id).in_(draft_ids))).all())


# --------------------------------------------------------------------------- prices
def list_prices(*, session: Session) -> list[ModelPrice]:
    """Every model price, by model name."""
    return list(session.exec(select(ModelPrice).order_by(ModelPrice.model)))


def set_price(*, session: Session, model: str, prompt_per_million: float, completion_per_million: float) -> ModelPrice:
    """Create or update the price of ``model`` (per million tokens)."""
    if prompt_per_million < 0 or completion_per_million < 0:
        raise ValueError("prices cannot be negative")
    price = session.exec(select(ModelPrice).where(ModelPrice.model == model)).first()
    if price is None:
        price = ModelPrice(model=model)
    price.prompt_per_million = prompt_per_million
    price.completion_per_million = completion_per_million
    session.add(price)
    session.flush()
    return price


def delete_price(*, session: Session, model: str) -> bool:
    """Remove the price of ``model``; True if there was one."""
    price = session.exec(select(ModelPrice).where(ModelPrice.model == model)).first()
    if price is None:
        return False
    session.delete(price)
    session.flush()
    return True
