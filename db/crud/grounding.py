"""Groundedness reports of revisions: one row per revision, the report as JSON plus summary columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from db.models import GroundingReport, utcnow


def save_report(
    *,
    session: Session,
    draft_id: int,
    revision_id: int,
    revision_number: int,
    report: dict[str, Any],
    sentence_count: int,
    supported_count: int,
    unsupported_count: int,
    no_claim_count: int,
    supported_share: float,
    passage_count: int,
    unknown_terms: list[str],
    checked_by: str,
    elapsed_ms: int = 0,
    complete: bool = True,
    problem: str = "",
) -> GroundingReport:
    """Store the report of a revision, replacing an earlier one of the same revision (no commit)."""
    row = session.exec(select(GroundingReport).where(GroundingReport.revision_id == revision_id)).first()
    if row is None:
        row = GroundingReport(draft_id=draft_id, revision_id=revision_id, revision_number=revision_number)
    values = {
        "revision_number": revision_number,
        "report": report,
        "sentence_count": sentence_count,
        "supported_count": supported_count,
        "unsupported_count": unsupported_count,
        "no_claim_count": no_claim_count,
        "supported_share": supported_share,
        "passage_count": passage_count,
        "unknown_terms": list(unknown_terms),
        "checked_by": checked_by,
        "elapsed_ms": elapsed_ms,
        "complete": complete,
        "problem": problem,
        "acknowledged_by_id": None,  # a new report of this revision needs a new acknowledgement
        "acknowledged_at": None,
        "created_at": utcnow(),
    }
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    return row


def report_for_revision(*, session: Session, revision_id: int) -> GroundingReport | None:
    """The stored report of one revision, or None."""
    return session.exec(select(GroundingReport).where(GroundingReport.revision_id == revision_id)).first()


def latest_report(*, session: Session, draft_id: int, exclude_revision_id: int | None = None) -> GroundingReport | None:
    """The report of the draft's highest-numbered revision that has one (optionally skipping one revision)."""
    statement = select(GroundingReport).where(GroundingReport.draft_id == draft_id)
    if exclude_revision_id is not None:
        statement = statement.where(GroundingReport.revision_id != exclude_revision_id)
    return session.exec(statement.order_by(GroundingReport.revision_number.desc()).limit(1)).first()


def summaries(*, session: Session, draft_id: int) -> dict[int, tuple[float, int, int]]:
    """Per revision number of a draft: (supported share, unsupported count, passage count)."""
    statement = select(
        GroundingReport.revision_number,
        GroundingReport.supported_share,
        GroundingReport.unsupported_count,
        GroundingReport.passage_count,
    ).where(GroundingReport.draft_id == draft_id)
    return {number: (share, unsupported, passages) for number, share, unsupported, passages in session.exec(statement)}


def mark_acknowledged(*, session: Session, report_id: int, user_id: int | None, at: datetime | None = None) -> None:
    """Record that ``user_id`` approved the revision despite its unsupported sentences."""
    row = session.get(GroundingReport, report_id)
    if row is not None:
        row.acknowledged_by_id = user_id
        row.acknowledged_at = at or utcnow()
        session.add(row)
        session.flush()
