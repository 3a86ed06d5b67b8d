"""Login sessions: signed cookies, one-time claim tickets, revocation, idle and absolute expiry, the HTTP routes."""

from __future__ import annotations

import stat
from datetime import timedelta

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from db.models import Role, User, utcnow
from db.session import session_scope
from editorial import sessions
from editorial.auth import add_user, change_password
from editorial.settings import get_settings
from editorial.web import CLAIM_PATH, LOGOUT_PATH, session_routes


@pytest.fixture
def ada(engine) -> User:
    with session_scope(engine) as session:
        return add_user(session=session, actor=None, username="ada", password="right-password-1", role=Role.ADMIN)


def _start(engine, user: User) -> sessions.StartedSession:
    with session_scope(engine) as session:
        return sessions.start(session=session, settings=get_settings(), user=user)


def _check(engine, session_id: str, now=None) -> sessions.SessionCheck:
    with session_scope(engine) as session:
        return sessions.check(session=session, settings=get_settings(), session_id=session_id, now=now)


def _claim(engine, ticket: str) -> str:
    with session_scope(engine) as session:
        return sessions.claim(session=session, settings=get_settings(), ticket=ticket)


def test_the_secret_is_created_private_and_rotation_invalidates_cookies(engine, ada):
    settings = get_settings()
    started = _start(engine, ada)
    path = settings.session_secret_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and sessions.secret_problem(settings) == ""
    cookie = _claim(engine, started.claim_ticket)
    assert sessions.session_id_from_cookie(settings, cookie) == started.session_id
    sessions.rotate_secret(settings)
    assert sessions.session_id_from_cookie(settings, cookie) is None
    path.chmod(0o644)
    assert "readable by others" in sessions.secret_problem(settings)


def test_a_ticket_is_claimed_once_and_forgeries_are_refused(engine, ada):
    started = _start(engine, ada)
    cookie = _claim(engine, started.claim_ticket)
    assert started.session_id not in cookie.split(".")[-1]  # the value is signed, not the bare id
    with pytest.raises(sessions.SessionError, match="already used"):
        _claim(engine, started.claim_ticket)
    with pytest.raises(sessions.SessionError, match="not valid"):
        _claim(engine, started.claim_ticket[:-2] + "xx")
    tampered = cookie[:-3] + ("abc" if not cookie.endswith("abc") else "xyz")
    assert sessions.session_id_from_cookie(get_settings(), tampered) is None
    assert sessions.session_id_from_cookie(get_settings(), "x" * 100_000) is None


def test_logout_password_role_and_disabling_end_sessions(engine, ada):
    first, second = _start(engine, ada), _start(engine, ada)
    assert _check(engine, first.session_id).user.username == "ada"
    with session_scope(engine) as session:
        sessions.end(session=session, session_id=first.session_id)
    assert _check(engine, first.session_id).reason == "You logged out."
    assert _check(engine, second.session_id).user is not None  # another browser stays in

    with session_scope(engine) as session:
        change_password(session=session, actor=ada, user_id=ada.id, password="another-password-2")
    assert _check(engine, second.session_id).reason == "Your password or role changed; please log in again."

    third = _start(engine, _reload(engine, ada.id))
    with session_scope(engine) as session:
        session.get(User, ada.id).disabled = True
    assert _check(engine, third.session_id).reason == "Your account was disabled; ask an admin."
    with session_scope(engine) as session:
        session.get(User, ada.id).disabled = False
    assert _check(engine, third.session_id).user is None  # an ended session stays ended


def _reload(engine, user_id: int) -> User:
    with session_scope(engine) as session:
        return session.get(User, user_id)


def test_idle_timeout_and_absolute_age(engine, ada, monkeypatch):
    monkeypatch.setenv("EDITORIAL_SESSION_IDLE_MINUTES", "10")
    monkeypatch.setenv("EDITORIAL_SESSION_MAX_AGE_HOURS", "1")
    get_settings.cache_clear()
    started = _start(engine, ada)
    now = utcnow()
    for minutes in (9, 18, 27, 36, 45, 54):  # active every 9 minutes: idle never reached
        assert _check(engine, started.session_id, now + timedelta(minutes=minutes)).user is not None
    assert "expired" in _check(engine, started.session_id, now + timedelta(minutes=61)).reason

    idle = _start(engine, ada)
    assert "without activity" in _check(engine, idle.session_id, utcnow() + timedelta(minutes=11)).reason


def test_the_routes_set_an_httponly_cookie_and_logout_deletes_it(engine, ada):
    client = TestClient(Starlette(routes=session_routes()), base_url="http://127.0.0.1:8501")
    started = _start(engine, ada)
    refused = client.post(CLAIM_PATH, json={"ticket": started.claim_ticket}, headers={"Origin": "http://evil.test"})
    assert refused.status_code == 403
    response = client.post(CLAIM_PATH, json={"ticket": started.claim_ticket})
    assert response.status_code == 204
    header = response.headers["set-cookie"]
    assert header.startswith(f"{sessions.COOKIE_NAME}=") and "HttpOnly" in header and "SameSite=strict" in header
    assert "Max-Age=86400" in header and started.session_id not in header.split(";")[0].split(".")[-1]
    assert client.post(CLAIM_PATH, json={"ticket": started.claim_ticket}).status_code == 403  # once only
    assert client.post(CLAIM_PATH, content=b"[" * 10_000).status_code == 413
    assert client.post(CLAIM_PATH, content=b"not json").status_code == 400

    assert client.post(LOGOUT_PATH).status_code == 204
    assert _check(engine, started.session_id).reason == "You logged out."
    assert sessions.COOKIE_NAME not in client.cookies


def test_doctor_checks_the_key_and_rotates_it_on_request(settings, monkeypatch, capsys):
    from editorial import doctor
    from editorial.cli import main

    assert not doctor.check_session_secret(settings, repair=False).ok  # no key before init
    assert doctor.check_session_secret(settings, repair=True).ok
    settings.session_secret_path.chmod(0o640)
    assert "readable by others" in doctor.check_session_secret(settings, repair=False).message
    assert doctor.check_session_secret(settings, repair=True).ok
    before = settings.session_secret_path.read_text()
    monkeypatch.setattr(doctor, "CHECKS", [doctor.check_session_secret])
    assert main(["doctor", "--no-models", "--rotate-session-secret"]) == 2
    assert settings.session_secret_path.read_text() == before
    assert main(["doctor", "--no-models", "--repair", "--rotate-session-secret"]) == 0
    assert settings.session_secret_path.read_text() != before
    assert "rotated the session signing key" in capsys.readouterr().out
