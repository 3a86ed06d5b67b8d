"""Accounts: passwords (argon2), logins with a growing delay after repeated failures, and account rules.

Passwords are never stored or logged in clear: only argon2id hashes reach the database. A new
password must be at least :data:`MIN_PASSWORD_CHARS` long and not guessable: the zxcvbn strength
estimator (common passwords, words, names, keyboard patterns, the user name) must score it at least
:data:`MIN_PASSWORD_SCORE` of 4. After :data:`FREE_ATTEMPTS` failures in a row a user *name* is
locked for 2, 4, 8 … seconds (at most :data:`MAX_LOCK_SECONDS`); a correct password during the lock
is refused too. Failures are counted per typed name whether or not an account has it, with the
same answers and delays, so the login form does not tell which names exist. User names are
case-insensitive: ``Boss`` and ``boss`` are the same account. Only admins manage accounts, except
the very first one (an admin, created atomically: concurrent first visits make exactly one).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from zxcvbn import zxcvbn

from db.crud import users as users_crud
from db.models import Role, User, utcnow
from editorial.errors import EditorialError
from editorial.workflow import Action, PermissionDenied, require

FREE_ATTEMPTS = 3
MAX_LOCK_SECONDS = 300
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
MIN_PASSWORD_SCORE = 2
"""zxcvbn's score 2: "somewhat guarded", beyond throttled online guessing (the login is throttled)."""
_ZXCVBN_MAX_CHARS = 72
FAILURE_MEMORY = timedelta(days=1)
"""Failure counters untouched this long are forgotten."""
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


class UserError(EditorialError):
    """A user account cannot be created or changed as asked."""


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
    """``password`` if it is long enough, not the user name, and not guessable (zxcvbn score).

    Raises:
        InvalidCredentials: Too short, too long, the user name, or a common or weak password.
    """
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidCredentials(f"A password needs at least {MIN_PASSWORD_CHARS} characters.")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidCredentials(f"A password can have at most {MAX_PASSWORD_CHARS} characters.")
    if username and password.strip().lower() == username.strip().lower():
        raise InvalidCredentials("The password cannot be the user name.")
    verdict = zxcvbn(password[:_ZXCVBN_MAX_CHARS], user_inputs=[username, "editorial", "desk"] if username else [])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        hint = verdict["feedback"].get("warning") or "it is too easy to guess"
        raise InvalidCredentials(
            f"That password is too easy to guess ({hint.rstrip('.').lower()}). "
            "Use a longer one: a few unrelated words work well."
        )
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


def _wait_seconds(locked_until: datetime | None, now: datetime) -> int:
    locked_until = _aware(locked_until)
    if locked_until is None or locked_until <= now:
        return 0
    return max(1, int((locked_until - now).total_seconds() + 0.999))


def authenticate(*, session: Session, username: str, password: str, now: datetime | None = None) -> User:
    """Check a login and record its outcome.

    Unknown names get the same answers, the same password-hashing work and the same growing
    delays as real ones. The failure counter is increased by one atomic statement, so parallel
    wrong passwords each count.

    Args:
        session: Database session; a failure is committed here so that it counts.
        username: The user name typed (any case).
        password: The password typed.
        now: The current time (tests pass a fixed one).

    Returns:
        The logged-in user.

    Raises:
        AccountLocked: Too many recent failures; try again after ``retry_after`` seconds.
        AuthError: Wrong name or password, or a disabled account.
    """
    now = now or utcnow()
    username = username.strip()[:256]
    failure = users_crud.get_login_failure(session=session, username=username)
    if wait := _wait_seconds(failure.locked_until if failure else None, now):
        raise AccountLocked(f"Too many failed logins for this name; try again in {wait} s.", wait)
    user = users_crud.get_user_by_name(session=session, username=username)
    matches = verify_password(user.password_hash if user else _DUMMY_HASH, password[:MAX_PASSWORD_CHARS])
    if user is None or not matches:
        failures = users_crud.count_login_failure(session=session, username=username, now=now)
        delay = lock_seconds(failures)
        if delay:
            users_crud.lock_login(session=session, username=username, until=now + timedelta(seconds=delay))
        users_crud.forget_old_login_failures(session=session, older_than=FAILURE_MEMORY, now=now)
        session.commit()  # the failure must count even though the caller's scope rolls back on the error
        if delay:
            raise AccountLocked(f"Wrong user name or password. Next try possible in {delay} s.", delay)
        raise AuthError("Wrong user name or password.")
    if user.disabled:
        raise AuthError(f"The account {user.username} is disabled; ask an admin.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    users_crud.clear_login_failures(session=session, username=username)
    return users_crud.update_user(session=session, user=user, last_login_at=now)


def needs_first_admin(*, session: Session) -> bool:
    """True while no account exists (the first visit offers to create the admin)."""
    return users_crud.count_users(session=session) == 0


def add_user(
    *, session: Session, actor: User | None, username: str, password: str, role: Role | str = Role.EDITOR
) -> User:
    """Create an account with a hashed password (admins only; the first account needs no actor).

    Without an actor, the account is created only if no account exists, in one atomic statement:
    of several concurrent first-visit submissions exactly one becomes the admin.

    Raises:
        InvalidCredentials: Bad user name or weak password.
        PermissionDenied: ``actor`` may not manage users, or there is no actor and accounts exist.
        UserError: Name taken (in any case), or a first account that is not an admin.
    """
    role = Role(role)
    name = validate_username(username)
    if actor is not None:
        require(actor, Action.MANAGE_USERS)
    elif role is not Role.ADMIN:
        raise UserError("The first account must be an admin.")
    validate_password(password, name)
    password_hash = hash_password(password)
    try:
        if actor is not None:
            if users_crud.get_user_by_name(session=session, username=name) is not None:
                raise UserError(f"The user name {name} is taken.")
            return users_crud.insert_user(session=session, username=name, password_hash=password_hash, role=role)
        user = users_crud.insert_first_user(session=session, username=name, password_hash=password_hash, role=role)
    except IntegrityError:
        session.rollback()
        raise UserError(f"The user name {name} is taken.") from None
    if user is None:
        raise PermissionDenied("An account exists already: log in, and an admin adds new accounts.")
    return user


def _target(session: Session, actor: User | None, user_id: int) -> User:
    require(actor, Action.MANAGE_USERS)
    user = users_crud.get_user(session=session, user_id=user_id)
    if user is None:
        raise UserError(f"There is no user {user_id}.")
    return user


def set_role(*, session: Session, actor: User | None, user_id: int, role: Role | str) -> User:
    """Change a user's role (admins only; the last active admin keeps the role)."""
    user = _target(session, actor, user_id)
    role = Role(role)
    last_admin = users_crud.count_active_admins(session=session) <= 1
    if user.role == Role.ADMIN and role is not Role.ADMIN and not user.disabled and last_admin:
        raise UserError(f"{user.username} is the last admin; make someone else an admin first.")
    return users_crud.update_user(session=session, user=user, role=role)


def set_disabled(*, session: Session, actor: User | None, user_id: int, disabled: bool) -> User:
    """Disable or re-enable an account (admins only; never yourself, never the last admin)."""
    user = _target(session, actor, user_id)
    if disabled and actor is not None and user.id == actor.id:
        raise UserError("You cannot disable your own account.")
    last_admin = users_crud.count_active_admins(session=session) <= 1
    if disabled and user.role == Role.ADMIN and not user.disabled and last_admin:
        raise UserError(f"{user.username} is the last admin and cannot be disabled.")
    if not disabled:
        users_crud.clear_login_failures(session=session, username=user.username)
    return users_crud.update_user(session=session, user=user, disabled=disabled)


def change_password(*, session: Session, actor: User | None, user_id: int, password: str) -> User:
    """Set a new password (an admin for anyone, an active user for themselves).

    Raises:
        PermissionDenied: Someone else's password, and the actor is not an admin.
        InvalidCredentials: The password is weak.
    """
    if actor is not None and actor.id == user_id:
        user = require(users_crud.get_user(session=session, user_id=user_id), Action.VIEW)
    else:
        user = _target(session, actor, user_id)
    validate_password(password, user.username)
    users_crud.clear_login_failures(session=session, username=user.username)
    return users_crud.update_user(session=session, user=user, password_hash=hash_password(password))


def login_failures(*, session: Session) -> dict[str, int]:
    """Failed logins in a row per account name (for the Users page)."""
    counts = users_crud.failures_by_name(session=session)
    return {user.username: counts.get(user.username_key, 0) for user in users_crud.list_users(session=session)}


def accounts_summary(*, session: Session) -> tuple[bool, str]:
    """(ok, message) for ``doctor``: how many accounts and active admins exist."""
    accounts = users_crud.list_users(session=session)
    if not accounts:
        return True, "no accounts yet: the first visit (or 'users add NAME --role admin') creates the admin"
    admins = [u.username for u in accounts if u.role == Role.ADMIN and not u.disabled]
    disabled = sum(u.disabled for u in accounts)
    message = f"{len(accounts)} account(s), {disabled} disabled, active admins: {', '.join(admins) or 'none'}"
    return bool(admins), message
