"""Login sessions that survive a reload: signed cookies, server-side revocation, idle and absolute expiry.

A login creates a random session id. The browser keeps it in an HttpOnly cookie signed with
itsdangerous (key: ``<data>/session_secret``, 0600); the database keeps only its SHA-256 with the
account's *fingerprint* (a digest of password hash and role). Every page run checks the row:
a logout, an admin disabling the account, a changed role or password, the idle timeout or the
absolute age ends it. Rotating the key (``doctor --repair --rotate-session-secret``) ends them all.

The cookie cannot be set from a Streamlit script (it talks over a WebSocket). So the login hands
the page a one-time *claim ticket* (signed, valid for :data:`CLAIM_SECONDS`); the page posts it to
the app's ``/api/session/claim`` route (``editorial.web``), which answers with the ``Set-Cookie``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session

from db.crud import login_sessions as crud
from db.crud import users as users_crud
from db.models import LoginSession, Role, User, utcnow
from editorial.errors import EditorialError
from editorial.settings import Settings

log = logging.getLogger(__name__)

COOKIE_NAME = "editorial_session"
CLAIM_SECONDS = 120
TOUCH_EVERY = timedelta(seconds=30)
"""Activity is written at most this often per session (each page run would otherwise write)."""

_COOKIE_SALT = "editorial-desk.session-cookie"
_CLAIM_SALT = "editorial-desk.session-claim"


class SessionError(EditorialError):
    """A session cookie or claim ticket was refused."""


@dataclass(frozen=True)
class StartedSession:
    """A new login session: the id this tab keeps and the ticket the browser trades for its cookie."""

    session_id: str
    claim_ticket: str


@dataclass(frozen=True)
class SessionCheck:
    """The outcome of checking a session: the user, or why it ended."""

    user: User | None
    reason: str = ""


# --------------------------------------------------------------------------- the signing key
def _write_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    os.replace(temp, path)  # atomic: readers see the old key or the new one
    return value


def ensure_secret(settings: Settings) -> Path:
    """Create the signing key (0600) if it is missing; return its path."""
    path = settings.session_secret_path
    if not path.exists():
        _write_secret(path)
        log.info("created the session signing key %s", path)
    return path


def rotate_secret(settings: Settings) -> Path:
    """Replace the signing key: every cookie signed with the old one stops working."""
    path = settings.session_secret_path
    _write_secret(path)
    log.warning("rotated the session signing key %s; every browser must log in again", path)
    return path


def secret_problem(settings: Settings) -> str:
    """'' when the key exists with mode 0600, else what is wrong (for ``doctor``)."""
    path = settings.session_secret_path
    if not path.exists():
        return f"{path} is missing (init or doctor --repair creates it)"
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        return f"{path} is readable by others (mode {mode:o}); doctor --repair sets 0600"
    if len(path.read_text().strip()) < 32:
        return f"{path} is too short; doctor --repair --rotate-session-secret writes a new one"
    return ""


def _serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    ensure_secret(settings)
    key = settings.session_secret_path.read_text().strip()
    return URLSafeTimedSerializer(key, salt=salt)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def fingerprint(user: User) -> str:
    """A digest of what ends a session when it changes: the password hash and the role."""
    return hashlib.sha256(f"{user.password_hash}\x00{Role(user.role).value}".encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- the life of a session
def start(*, session: Session, settings: Settings, user: User, now: datetime | None = None) -> StartedSession:
    """Begin a session for a user who just logged in."""
    now = now or utcnow()
    session_id, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
    crud.create_login_session(
        session=session,
        user_id=user.id,
        token_hash=_digest(session_id),
        fingerprint=fingerprint(user),
        claim_nonce=nonce,
        now=now,
    )
    ticket = _serializer(settings, _CLAIM_SALT).dumps({"sid": session_id, "nonce": nonce})
    return StartedSession(session_id, ticket)


def claim(*, session: Session, settings: Settings, ticket: str) -> str:
    """Trade a fresh, unused claim ticket for the signed cookie value.

    Raises:
        SessionError: The ticket is forged, expired, already used, or its session ended.
    """
    try:
        payload = _serializer(settings, _CLAIM_SALT).loads(ticket[:1024], max_age=CLAIM_SECONDS)
        session_id, nonce = str(payload["sid"]), str(payload["nonce"])
    except (BadSignature, KeyError, TypeError) as exc:
        raise SessionError("The login ticket is not valid (expired or forged).") from exc
    if not crud.consume_claim(session=session, token_hash=_digest(session_id), nonce=nonce):
        raise SessionError("The login ticket was already used or its session ended.")
    return _serializer(settings, _COOKIE_SALT).dumps(session_id)


def session_id_from_cookie(settings: Settings, cookie: str | None) -> str | None:
    """The session id inside a cookie value, or None when it is missing, forged, too old or signed with an old key."""
    if not cookie:
        return None
    try:
        return str(
            _serializer(settings, _COOKIE_SALT).loads(cookie[:1024], max_age=settings.session_max_age_hours * 3600)
        )
    except BadSignature:
        return None


def _row(session: Session, session_id: str) -> LoginSession | None:
    return crud.get_by_token_hash(session=session, token_hash=_digest(session_id))


def check(*, session: Session, settings: Settings, session_id: str | None, now: datetime | None = None) -> SessionCheck:
    """The session's user if it is still valid (and record the activity), else why it ended.

    Called on every page run: a disabled account, a changed role or password, a logout elsewhere,
    the idle timeout and the absolute age all end the session here.
    """
    if not session_id:
        return SessionCheck(None, "")
    now = now or utcnow()
    row = _row(session, session_id)
    if row is None:
        return SessionCheck(None, "Your session is not known here; please log in.")
    if row.ended_at is not None:
        return SessionCheck(None, _ENDED.get(row.end_reason, "Your session ended; please log in again."))
    user = users_crud.get_user(session=session, user_id=row.user_id)
    reason = ""
    if user is None or user.disabled:
        reason = "disabled"
    elif row.fingerprint != fingerprint(user):
        reason = "account-changed"
    elif now - _aware(row.last_seen_at) > timedelta(minutes=settings.session_idle_minutes):
        reason = "idle"
    elif now - _aware(row.created_at) > timedelta(hours=settings.session_max_age_hours):
        reason = "expired"
    if reason:
        crud.end(session=session, row_id=row.id, now=now, reason=reason)
        return SessionCheck(None, _ENDED[reason])
    if now - _aware(row.last_seen_at) >= TOUCH_EVERY:
        crud.touch(session=session, row_id=row.id, now=now)
    return SessionCheck(user)


def end(*, session: Session, session_id: str | None, reason: str = "logout", now: datetime | None = None) -> None:
    """End one session (logging out); unknown ids are ignored."""
    if not session_id:
        return
    row = _row(session, session_id)
    if row is not None:
        crud.end(session=session, row_id=row.id, now=now or utcnow(), reason=reason)


def end_all_for_user(*, session: Session, user_id: int, reason: str = "logout-everywhere") -> int:
    """End every open session of one account; how many there were."""
    return crud.end_for_user(session=session, user_id=user_id, now=utcnow(), reason=reason)


_ENDED = {
    "logout": "You logged out.",
    "logout-everywhere": "You were logged out everywhere.",
    "disabled": "Your account was disabled; ask an admin.",
    "account-changed": "Your password or role changed; please log in again.",
    "idle": "Your session ended after a while without activity; please log in again.",
    "expired": "Your session expired; please log in again.",
}
