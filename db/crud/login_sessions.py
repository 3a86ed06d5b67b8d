"""Browser login sessions: plain persistence (the rules live in ``editorial.sessions``)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select, update

from db.models import LoginSession


def create_login_session(
    *, session: Session, user_id: int, token_hash: str, fingerprint: str, claim_nonce: str | None, now: datetime
) -> LoginSession:
    """Store a new session row."""
    row = LoginSession(
        user_id=user_id,
        token_hash=token_hash,
        fingerprint=fingerprint,
        claim_nonce=claim_nonce,
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_by_token_hash(*, session: Session, token_hash: str) -> LoginSession | None:
    """The session row for a token digest, freshly read."""
    row = session.exec(select(LoginSession).where(LoginSession.token_hash == token_hash)).first()
    if row is not None:
        session.refresh(row)
    return row


def consume_claim(*, session: Session, token_hash: str, nonce: str) -> bool:
    """Clear the claim nonce if it still matches (atomic: a ticket is claimed at most once)."""
    result = session.exec(
        update(LoginSession)
        .where(
            col(LoginSession.token_hash) == token_hash,
            col(LoginSession.claim_nonce) == nonce,
            col(LoginSession.ended_at).is_(None),
        )
        .values(claim_nonce=None)
    )
    return result.rowcount == 1


def touch(*, session: Session, row_id: int, now: datetime) -> None:
    """Record activity on a session."""
    session.exec(update(LoginSession).where(col(LoginSession.id) == row_id).values(last_seen_at=now))


def end(*, session: Session, row_id: int, now: datetime, reason: str) -> None:
    """End one session (no-op when it already ended)."""
    session.exec(
        update(LoginSession)
        .where(col(LoginSession.id) == row_id, col(LoginSession.ended_at).is_(None))
        .values(ended_at=now, end_reason=reason[:64])
    )


def end_for_user(*, session: Session, user_id: int, now: datetime, reason: str) -> int:
    """End every open session of a user; how many were open."""
    result = session.exec(
        update(LoginSession)
        .where(col(LoginSession.user_id) == user_id, col(LoginSession.ended_at).is_(None))
        .values(ended_at=now, end_reason=reason[:64])
    )
    return result.rowcount


def count_open(*, session: Session) -> int:
    """How many sessions have not ended."""
    return len(session.exec(select(LoginSession.id).where(col(LoginSession.ended_at).is_(None))).all())
