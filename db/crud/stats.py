"""Counts for the home page and ``doctor``."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from db.models import Draft, Run, Source, SourceCollection


def count_rows(*, session: Session) -> dict[str, int]:
    """How many collections, sources, drafts and runs exist."""
    tables = {"collections": SourceCollection, "sources": Source, "drafts": Draft, "runs": Run}
    return {name: session.exec(select(func.count()).select_from(table)).one() for name, table in tables.items()}
