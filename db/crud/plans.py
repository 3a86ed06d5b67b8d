"""Plans: research results and the editable blueprint."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from db.models import Plan, PlanStatus, utcnow


def create_plan(
    *,
    session: Session,
    topic: str,
    collection_id: int | None,
    audience: str = "",
    tone: str = "",
    target_words: int = 1500,
    questions: list[str] | None = None,
    evidence: list[dict[str, Any]] | None = None,
    blueprint: dict[str, Any] | None = None,
    is_fallback: bool = False,
    created_by_id: int | None = None,
) -> Plan:
    """Insert a plan (status draft)."""
    plan = Plan(
        topic=topic,
        collection_id=collection_id,
        audience=audience,
        tone=tone,
        target_words=target_words,
        questions=list(questions or []),
        evidence=list(evidence or []),
        blueprint=dict(blueprint or {}),
        is_fallback=is_fallback,
        created_by_id=created_by_id,
    )
    session.add(plan)
    session.flush()
    return plan


def get_plan(*, session: Session, plan_id: int) -> Plan | None:
    """The plan with this id, or None."""
    return session.get(Plan, plan_id)


def update_plan(
    *,
    session: Session,
    plan_id: int,
    blueprint: dict[str, Any] | None = None,
    status: PlanStatus | None = None,
    target_words: int | None = None,
    is_fallback: bool | None = None,
) -> Plan:
    """Replace the blueprint and/or change the status of a plan."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise LookupError(f"plan {plan_id} does not exist")
    if blueprint is not None:
        plan.blueprint = copy.deepcopy(dict(blueprint))
        flag_modified(plan, "blueprint")
    if status is not None:
        plan.status = status
    if target_words is not None:
        plan.target_words = target_words
    if is_fallback is not None:
        plan.is_fallback = is_fallback
    plan.updated_at = utcnow()
    session.add(plan)
    session.flush()
    return plan


def list_plans(*, session: Session, collection_id: int | None = None, limit: int = 50) -> list[Plan]:
    """Recent plans, newest first (optionally of one collection)."""
    query = select(Plan)
    if collection_id is not None:
        query = query.where(Plan.collection_id == collection_id)
    return list(session.exec(query.order_by(col(Plan.created_at).desc(), col(Plan.id).desc()).limit(limit)))
