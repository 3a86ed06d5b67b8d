"""Runtime settings stored in the database (changed from the Settings page)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from db.models import AppSetting, utcnow


def get_app_setting(*, session: Session, key: str, default: Any = None) -> Any:
    """The stored value for ``key``, or ``default``."""
    row = session.get(AppSetting, key)
    return default if row is None else row.value


def set_app_setting(*, session: Session, key: str, value: Any) -> None:
    """Store ``value`` under ``key`` (JSON-serialisable)."""
    row = session.get(AppSetting, key)
    if row is None:
        session.add(AppSetting(key=key, value=value))
    else:
        row.value = value
        row.updated_at = utcnow()
        session.add(row)
    session.flush()
