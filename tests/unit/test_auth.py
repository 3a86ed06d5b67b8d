"""Accounts: argon2 hashes, login slow-down, first admin, user management rules, and the users CLI."""

import io
from datetime import timedelta

import pytest
from sqlmodel import select

from db.crud import users as users_crud
from db.models import Role, User, utcnow
from db.session import session_scope
from editorial.auth import (
    FREE_ATTEMPTS,
    AccountLocked,
    AuthError,
    InvalidCredentials,
    add_user,
    authenticate,
    change_password,
    hash_password,
    lock_seconds,
    needs_first_admin,
    verify_password,
)
from editorial.cli import main
from editorial.workflow import PermissionDenied


@pytest.fixture
def admin(engine):
    with session_scope(engine) as session:
        return add_user(session=session, actor=None, username="ada", password="correct-horse", role=Role.ADMIN)


def test_passwords_are_stored_as_argon2_hashes_only(engine, admin):
    with session_scope(engine) as session:
        stored = session.get(User, admin.id).password_hash
    assert stored.startswith("$argon2id$") and "correct-horse" not in stored
    assert verify_password(stored, "correct-horse") and not verify_password(stored, "Correct-horse")
    assert not verify_password("not-a-hash", "x")
    assert hash_password("same") != hash_password("same")  # salted


def test_first_account_must_be_an_admin_and_then_only_admins_add(engine):
    with session_scope(engine) as session:
        assert needs_first_admin(session=session)
        with pytest.raises(users_crud.UserError, match="first account must be an admin"):
            add_user(session=session, actor=None, username="ed", password="long-enough", role=Role.EDITOR)
        boss = add_user(session=session, actor=None, username="boss", password="long-enough", role=Role.ADMIN)
        assert not needs_first_admin(session=session)
        with pytest.raises(PermissionDenied, match="logged in"):
            add_user(session=session, actor=None, username="sneaky", password="long-enough", role=Role.ADMIN)
        editor = add_user(session=session, actor=boss, username="ed", password="long-enough", role=Role.EDITOR)
        reviewer = add_user(session=session, actor=boss, username="rita", password="long-enough", role=Role.REVIEWER)
        for actor in (editor, reviewer):
            with pytest.raises(PermissionDenied, match="may not manage users"):
                add_user(session=session, actor=actor, username="x1", password="long-enough")
            with pytest.raises(PermissionDenied):
                users_crud.set_role(session=session, actor=actor, user_id=actor.id, role=Role.ADMIN)
            with pytest.raises(PermissionDenied):
                users_crud.set_disabled(session=session, actor=actor, user_id=boss.id, disabled=True)
            with pytest.raises(PermissionDenied):
                change_password(session=session, actor=actor, user_id=boss.id, password="hijacked-pass")
        change_password(session=session, actor=editor, user_id=editor.id, password="my-own-new-pass")
        with pytest.raises(users_crud.UserError, match="taken"):
            add_user(session=session, actor=boss, username="ed", password="long-enough")


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("a", "long-enough", "2 to 64"),
        ("bad name", "long-enough", "2 to 64"),
        ("-x", "long-enough", "2 to 64"),
        ("okname", "short", "at least 8"),
        ("samename", "SameName", "cannot be the user name"),
    ],
)
def test_names_and_passwords_are_checked(engine, name, password, message):
    with session_scope(engine) as session, pytest.raises(InvalidCredentials, match=message):
        add_user(session=session, actor=None, username=name, password=password, role=Role.ADMIN)


def test_login_succeeds_and_records_the_time(engine, admin):
    with session_scope(engine) as session:
        user = authenticate(session=session, username="ada", password="correct-horse")
        assert user.id == admin.id and user.last_login_at is not None and user.failed_logins == 0


def test_repeated_failures_slow_logins_down(engine, admin):
    now = utcnow()
    for attempt in range(1, FREE_ATTEMPTS):
        with pytest.raises(AuthError, match="Wrong user name or password") as info, session_scope(engine) as session:
            authenticate(session=session, username="ada", password="nope", now=now)
        assert not isinstance(info.value, AccountLocked), attempt
    with pytest.raises(AccountLocked) as info, session_scope(engine) as session:
        authenticate(session=session, username="ada", password="nope", now=now)
    assert info.value.retry_after == lock_seconds(FREE_ATTEMPTS) == 2
    # During the lock even the right password is refused, and the failure count survived the rollbacks.
    with pytest.raises(AccountLocked, match="try again in 2 s"), session_scope(engine) as session:
        authenticate(session=session, username="ada", password="correct-horse", now=now)
    with session_scope(engine) as session:
        assert session.get(User, admin.id).failed_logins == FREE_ATTEMPTS
    later = now + timedelta(seconds=3)
    with pytest.raises(AccountLocked) as info, session_scope(engine) as session:
        authenticate(session=session, username="ada", password="nope", now=later)
    assert info.value.retry_after == 4  # the delay doubles
    with session_scope(engine) as session:
        authenticate(session=session, username="ada", password="correct-horse", now=later + timedelta(seconds=5))
        assert session.get(User, admin.id).failed_logins == 0


def test_lock_delay_grows_and_is_capped():
    assert [lock_seconds(n) for n in range(1, 7)] == [0, 0, 2, 4, 8, 16]
    assert lock_seconds(100) == 300


def test_unknown_and_disabled_users_are_refused(engine, admin):
    with session_scope(engine) as session:
        other = add_user(session=session, actor=admin, username="ed", password="long-enough")
        users_crud.set_disabled(session=session, actor=admin, user_id=other.id, disabled=True)
    with pytest.raises(AuthError, match="Wrong user name"), session_scope(engine) as session:
        authenticate(session=session, username="nobody", password="whatever1")
    with pytest.raises(AuthError, match="disabled"), session_scope(engine) as session:
        authenticate(session=session, username="ed", password="long-enough")


def test_the_last_admin_is_protected(engine, admin):
    with session_scope(engine) as session:
        with pytest.raises(users_crud.UserError, match="last admin"):
            users_crud.set_role(session=session, actor=admin, user_id=admin.id, role=Role.EDITOR)
        with pytest.raises(users_crud.UserError, match="own account"):
            users_crud.set_disabled(session=session, actor=admin, user_id=admin.id, disabled=True)
        second = add_user(session=session, actor=admin, username="bea", password="long-enough", role=Role.ADMIN)
        users_crud.set_role(session=session, actor=second, user_id=admin.id, role=Role.REVIEWER)
        assert session.get(User, admin.id).role is Role.REVIEWER


def test_cli_users_commands(engine, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("admin-pass-1\n"))
    assert main(["users", "add", "boss", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("editor-pass\n"))
    assert main(["users", "add", "ed", "--password-stdin"]) == 1
    assert "--as" in capsys.readouterr().err
    monkeypatch.setenv("EDITORIAL_PASSWORD", "admin-pass-1")
    monkeypatch.setattr("sys.stdin", io.StringIO("editor-pass\n"))
    assert main(["users", "add", "ed", "--password-stdin", "--as", "boss"]) == 0
    monkeypatch.setenv("EDITORIAL_PASSWORD", "editor-pass")
    monkeypatch.setattr("sys.stdin", io.StringIO("another-pass\n"))
    assert main(["users", "add", "eve", "--password-stdin", "--as", "ed"]) == 1
    assert main(["users", "set-role", "ed", "admin", "--as", "ed"]) == 1
    assert main(["users", "disable", "boss", "--as", "ed"]) == 1
    assert capsys.readouterr().err.count("may not manage users") == 3
    monkeypatch.setenv("EDITORIAL_PASSWORD", "admin-pass-1")
    assert main(["users", "set-role", "ed", "reviewer", "--as", "boss"]) == 0
    assert main(["users", "disable", "ed", "--as", "boss"]) == 0
    assert main(["users", "list"]) == 0
    out = capsys.readouterr().out
    assert "ed is now reviewer" in out and "ed                       reviewer  disabled" in out
    with session_scope(engine) as session:
        names = session.exec(select(User.username).order_by(User.username)).all()
        assert names == ["boss", "ed"]
        assert all(h.startswith("$argon2id$") for h in session.exec(select(User.password_hash)))


def test_doctor_reports_accounts(engine, settings):
    from editorial.doctor import check_accounts

    first = check_accounts(settings, False)
    assert first.ok and "no accounts yet" in first.message
    with session_scope(engine) as session:
        boss = add_user(session=session, actor=None, username="boss", password="long-enough", role=Role.ADMIN)
        add_user(session=session, actor=boss, username="ed", password="long-enough")
    result = check_accounts(settings, False)
    assert result.ok and result.message == "2 account(s), 0 disabled, active admins: boss"
    with session_scope(engine) as session:  # an admin disabled behind the app's back
        session.exec(select(User).where(User.username == "boss")).one().disabled = True
    assert not check_accounts(settings, False).ok
