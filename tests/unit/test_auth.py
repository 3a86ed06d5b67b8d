"""Accounts: argon2 hashes, login slow-down, first admin, user management rules, and the users CLI."""

import io
import threading
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
    UserError,
    add_user,
    authenticate,
    change_password,
    hash_password,
    lock_seconds,
    needs_first_admin,
    set_disabled,
    set_role,
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
        with pytest.raises(UserError, match="first account must be an admin"):
            add_user(session=session, actor=None, username="ed", password="long-enough", role=Role.EDITOR)
        boss = add_user(session=session, actor=None, username="boss", password="long-enough", role=Role.ADMIN)
        assert not needs_first_admin(session=session)
    with session_scope(engine) as session, pytest.raises(PermissionDenied, match="An account exists already"):
        add_user(session=session, actor=None, username="sneaky", password="long-enough", role=Role.ADMIN)
    with session_scope(engine) as session:
        boss = users_crud.get_user_by_name(session=session, username="boss")
        editor = add_user(session=session, actor=boss, username="ed", password="long-enough", role=Role.EDITOR)
        reviewer = add_user(session=session, actor=boss, username="rita", password="long-enough", role=Role.REVIEWER)
        for actor in (editor, reviewer):
            with pytest.raises(PermissionDenied, match="may not manage users"):
                add_user(session=session, actor=actor, username="x1", password="long-enough")
            with pytest.raises(PermissionDenied):
                set_role(session=session, actor=actor, user_id=actor.id, role=Role.ADMIN)
            with pytest.raises(PermissionDenied):
                set_disabled(session=session, actor=actor, user_id=boss.id, disabled=True)
            with pytest.raises(PermissionDenied):
                change_password(session=session, actor=actor, user_id=boss.id, password="hijacked-pass")
        change_password(session=session, actor=editor, user_id=editor.id, password="my-own-new-pass")
        with pytest.raises(UserError, match="taken"):
            add_user(session=session, actor=boss, username="ed", password="long-enough")


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("a", "long-enough", "2 to 64"),
        ("bad name", "long-enough", "2 to 64"),
        ("-x", "long-enough", "2 to 64"),
        ("okname", "short", "at least 8"),
        ("samename", "SameName", "cannot be the user name"),
        ("okname", "password", "too easy to guess"),
        ("okname", "Password123", "too easy to guess"),
        ("okname", "qwertyuiop", "too easy to guess"),
        ("okname", "x" * 1025, "at most 1024"),
    ],
)
def test_names_and_passwords_are_checked(engine, name, password, message):
    with session_scope(engine) as session, pytest.raises(InvalidCredentials, match=message):
        add_user(session=session, actor=None, username=name, password=password, role=Role.ADMIN)


def test_login_succeeds_and_records_the_time(engine, admin):
    with session_scope(engine) as session:
        user = authenticate(session=session, username="ada", password="correct-horse")
        assert user.id == admin.id and user.last_login_at is not None
        assert users_crud.get_login_failure(session=session, username="ada") is None


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
        assert users_crud.get_login_failure(session=session, username="ada").failures == FREE_ATTEMPTS
    later = now + timedelta(seconds=3)
    with pytest.raises(AccountLocked) as info, session_scope(engine) as session:
        authenticate(session=session, username="ada", password="nope", now=later)
    assert info.value.retry_after == 4  # the delay doubles
    with session_scope(engine) as session:
        authenticate(session=session, username="ada", password="correct-horse", now=later + timedelta(seconds=5))
        assert users_crud.get_login_failure(session=session, username="ada") is None


def test_lock_delay_grows_and_is_capped():
    assert [lock_seconds(n) for n in range(1, 7)] == [0, 0, 2, 4, 8, 16]
    assert lock_seconds(100) == 300


def test_unknown_and_disabled_users_are_refused(engine, admin):
    with session_scope(engine) as session:
        other = add_user(session=session, actor=admin, username="ed", password="long-enough")
        set_disabled(session=session, actor=admin, user_id=other.id, disabled=True)
    with pytest.raises(AuthError, match="Wrong user name"), session_scope(engine) as session:
        authenticate(session=session, username="nobody", password="whatever1")
    with pytest.raises(AuthError, match="disabled"), session_scope(engine) as session:
        authenticate(session=session, username="ed", password="long-enough")


def test_the_last_admin_is_protected(engine, admin):
    with session_scope(engine) as session:
        with pytest.raises(UserError, match="last admin"):
            set_role(session=session, actor=admin, user_id=admin.id, role=Role.EDITOR)
        with pytest.raises(UserError, match="own account"):
            set_disabled(session=session, actor=admin, user_id=admin.id, disabled=True)
        second = add_user(session=session, actor=admin, username="bea", password="long-enough", role=Role.ADMIN)
        set_role(session=session, actor=second, user_id=admin.id, role=Role.REVIEWER)
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


def _attempts(engine, username: str, passwords: list[str], now) -> list[str]:
    """Each attempt's message (or ``ok``), in order."""
    answers = []
    for password in passwords:
        try:
            with session_scope(engine) as session:
                authenticate(session=session, username=username, password=password, now=now)
            answers.append("ok")
        except AuthError as exc:
            answers.append(str(exc))
    return answers


def test_unknown_names_get_the_same_answers_and_delays_as_real_ones(engine, admin):
    now = utcnow()
    real = _attempts(engine, "ada", ["nope"] * (FREE_ATTEMPTS + 1), now)
    made_up = _attempts(engine, "nobody-here", ["nope"] * (FREE_ATTEMPTS + 1), now)
    assert real == made_up
    assert real[FREE_ATTEMPTS - 1] == "Wrong user name or password. Next try possible in 2 s."
    assert real[FREE_ATTEMPTS] == "Too many failed logins for this name; try again in 2 s."
    # The same applies whatever the case of the name: 'ADA' is the locked 'ada'.
    assert _attempts(engine, "ADA", ["correct-horse"], now) == real[FREE_ATTEMPTS:]


def test_sixteen_parallel_wrong_passwords_all_count_and_lock_the_account(engine, admin):
    barrier, errors, refused = threading.Barrier(16), [], []

    def wrong() -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                authenticate(session=session, username="ada", password="wrong-password")
        except AccountLocked as exc:
            if "try again in" in str(exc):  # refused at the door: the lock was already there, nothing to count
                refused.append(exc)
        except AuthError:
            pass
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrong) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_scope(engine) as session:
        failure = users_crud.get_login_failure(session=session, username="ada")
        # every attempt either counted or met the lock another attempt had already set: none was lost
        assert failure.failures + len(refused) == 16 and failure.locked_until is not None
    with pytest.raises(AccountLocked, match="try again in"), session_scope(engine) as session:
        authenticate(session=session, username="ada", password="correct-horse")


def test_user_names_are_case_insensitive(engine, admin):
    with session_scope(engine) as session:
        add_user(session=session, actor=admin, username="Boss", password="long-enough")
        with pytest.raises(UserError, match="taken"):
            add_user(session=session, actor=admin, username="boss", password="long-enough")
        with pytest.raises(UserError, match="taken"):
            add_user(session=session, actor=admin, username="ADA", password="long-enough")
    with session_scope(engine) as session:
        assert authenticate(session=session, username="bOSS", password="long-enough").username == "Boss"
        assert [u.username for u in users_crud.list_users(session=session)] == ["ada", "Boss"]


def test_four_concurrent_first_visits_make_exactly_one_admin(engine):
    barrier, outcomes = threading.Barrier(4), []

    def first_visit(name: str) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                add_user(session=session, actor=None, username=name, password="long-enough", role=Role.ADMIN)
            outcomes.append("admin")
        except PermissionDenied as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=first_visit, args=(f"boss{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["An account exists already: log in, and an admin adds new accounts."] * 3 + ["admin"]
    with session_scope(engine) as session:
        assert users_crud.count_users(session=session) == 1
