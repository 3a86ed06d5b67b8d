"""Passwords (argon2) and logins with a growing delay after repeated failures.

Passwords are never stored or logged in clear: only argon2id hashes reach the database. After
:data:`FREE_ATTEMPTS` failures in a row an account is locked for 2, 4, 8 … seconds (at most
:data:`MAX_LOCK_SECONDS`); a correct password during the lock is refused too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session

from db.crud import users as users_crud
from db.models import Role, User, utcnow
from editorial.errors import EditorialError
from editorial.workflow import Action, require

FREE_ATTEMPTS = 3
MAX_LOCK_SECONDS = 300
MIN_PASSWORD_CHARS = 8
_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("editorial-desk-timing-equaliser")


class AuthError(EditorialError):
    """The login was refused (wrong name or password, disabled, or locked for a while)."""


class AccountLocked(AuthError):
    """Too many failed logins: the account is locked for ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidCredentials(EditorialError):
    """A new user name or password does not meet the rules."""


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for a malformed hash)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def validate_username(username: str) -> str:
    """The stripped name if it is 2–64 letters, digits, ``_ . -`` (starting with a letter or digit)."""
    name = username.strip()
    if not _USERNAME_RE.match(name):
        raise InvalidCredentials(
            "A user name is 2 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit."
        )
    return name


def validate_password(password: str, username: str = "") -> str:
    """``password`` if it is long enough and not the user name."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidCredentials(f"A password needs at least {MIN_PASSWORD_CHARS} characters.")
    if username and password.strip().lower() == username.strip().lower():
        raise InvalidCredentials("The password cannot be the user name.")
    return password


def lock_seconds(failed_logins: int) -> int:
    """How long an account stays locked after ``failed_logins`` failures in a row."""
    if failed_logins < FREE_ATTEMPTS:
        return 0
    return min(2 ** (failed_logins - FREE_ATTEMPTS + 1), MAX_LOCK_SECONDS)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def authenticate(*, session: Session, username: str, password: str, now: datetime | None = None) -> User:
    """Check a login and record its outcome.

    Args:
        session: Database session; a failure is committed here so that it counts.
        username: The user name typed.
        password: The password typed.
        now: The current time (tests pass a fixed one).

    Returns:
        The logged-in user.

    Raises:
        AccountLocked: Too many recent failures; try again after ``retry_after`` seconds.
        AuthError: Wrong name or password, or a disabled account.
    """
    now = now or utcnow()
    user = users_crud.get_user_by_name(session=session, username=username)
    if user is None:
        verify_password(_DUMMY_HASH, password)  # same work as a real check: no user-name probing by timing
        raise AuthError("Wrong user name or password.")
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        wait = max(1, int((locked_until - now).total_seconds() + 0.999))
        raise AccountLocked(f"Too many failed logins for {user.username}; try again in {wait} s.", wait)
    if not verify_password(user.password_hash, password):
        delay = lock_seconds(user.failed_logins + 1)
        until = now + timedelta(seconds=delay) if delay else None
        users_crud.record_login(session=session, user=user, ok=False, now=now, locked_until=until)
        session.commit()  # the failure must count even though the caller's scope rolls back on the error
        if delay:
            raise AccountLocked(f"Wrong user name or password. Next try possible in {delay} s.", delay)
        raise AuthError("Wrong user name or password.")
    if user.disabled:
        raise AuthError(f"The account {user.username} is disabled; ask an admin.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    users_crud.record_login(session=session, user=user, ok=True, now=now, locked_until=None)
    return user


def needs_first_admin(*, session: Session) -> bool:
    """True while no account exists (the first visit offers to create the admin)."""
    return users_crud.count_users(session=session) == 0


def add_user(
    *, session: Session, actor: User | None, username: str, password: str, role: Role | str = Role.EDITOR
) -> User:
    """Create an account with a hashed password (admins only; the first account needs no actor).

    Raises:
        InvalidCredentials: Bad user name or weak password.
        PermissionDenied: ``actor`` may not manage users.
        UserError: Name taken, or a first account that is not an admin.
    """
    if users_crud.count_users(session=session) > 0:
        require(actor, Action.MANAGE_USERS)
    name = validate_username(username)
    validate_password(password, name)
    return users_crud.create_user(
        session=session, actor=actor, username=name, password_hash=hash_password(password), role=role
    )


def change_password(*, session: Session, actor: User | None, user_id: int, password: str) -> User:
    """Set a new password (an admin for anyone, a user for themselves)."""
    target = users_crud.get_user(session=session, user_id=user_id)
    validate_password(password, target.username if target else "")
    return users_crud.set_password_hash(
        session=session, actor=actor, user_id=user_id, password_hash=hash_password(password)
    )


def accounts_summary(*, session: Session) -> tuple[bool, str]:
    """(ok, message) for ``doctor``: how many accounts and active admins exist."""
    accounts = users_crud.list_users(session=session)
    if not accounts:
        return True, "no accounts yet: the first visit (or 'users add NAME --role admin') creates the admin"
    admins = [u.username for u in accounts if u.role == Role.ADMIN and not u.disabled]
    disabled = sum(u.disabled for u in accounts)
    message = f"{len(accounts)} account(s), {disabled} disabled, active admins: {', '.join(admins) or 'none'}"
    return bool(admins), message
