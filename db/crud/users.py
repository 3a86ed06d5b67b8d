"""User accounts: lookups and changes, each change checked against the acting user's role."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from db.models import Role, User
from editorial.errors import EditorialError
from editorial.workflow import Action, PermissionDenied, require


class UserError(EditorialError):
    """A user account cannot be created or changed as asked."""


def count_users(*, session: Session) -> int:
    """How many accounts exist (disabled ones included)."""
    return session.exec(select(func.count()).select_from(User)).one()


def get_user(*, session: Session, user_id: int | None) -> User | None:
    """The user with ``user_id``, freshly read (None when missing or ``user_id`` is None)."""
    if user_id is None:
        return None
    return session.get(User, user_id, populate_existing=True)


def get_user_by_name(*, session: Session, username: str) -> User | None:
    """The user called ``username`` (exact match), or None."""
    return session.exec(select(User).where(User.username == username.strip())).first()


def list_users(*, session: Session) -> list[User]:
    """Every account, by name."""
    return list(session.exec(select(User).order_by(User.username)))


def _active_admins(session: Session) -> int:
    statement = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.disabled == False)  # noqa: E712
    return session.exec(statement).one()


def create_user(
    *, session: Session, actor: User | None, username: str, password_hash: str, role: Role | str = Role.EDITOR
) -> User:
    """Create an account; only admins may, except the very first account, which must be an admin.

    Raises:
        PermissionDenied: ``actor`` is not an admin (or there is no actor and users exist).
        UserError: The name is taken, or the first account is not an admin.
    """
    role = Role(role)
    if count_users(session=session) == 0:
        if role is not Role.ADMIN:
            raise UserError("The first account must be an admin.")
    else:
        require(actor, Action.MANAGE_USERS)
    if get_user_by_name(session=session, username=username) is not None:
        raise UserError(f"The user name {username} is taken.")
    user = User(username=username.strip(), role=role, password_hash=password_hash)
    session.add(user)
    session.flush()
    return user


def _target(session: Session, actor: User | None, user_id: int) -> User:
    require(actor, Action.MANAGE_USERS)
    user = get_user(session=session, user_id=user_id)
    if user is None:
        raise UserError(f"There is no user {user_id}.")
    return user


def set_role(*, session: Session, actor: User | None, user_id: int, role: Role | str) -> User:
    """Change a user's role (admins only; the last active admin keeps the role)."""
    user = _target(session, actor, user_id)
    role = Role(role)
    if user.role == Role.ADMIN and role is not Role.ADMIN and not user.disabled and _active_admins(session) <= 1:
        raise UserError(f"{user.username} is the last admin; make someone else an admin first.")
    user.role = role
    session.add(user)
    session.flush()
    return user


def set_disabled(*, session: Session, actor: User | None, user_id: int, disabled: bool) -> User:
    """Disable or re-enable an account (admins only; never yourself, never the last admin)."""
    user = _target(session, actor, user_id)
    if disabled and actor is not None and user.id == actor.id:
        raise UserError("You cannot disable your own account.")
    if disabled and user.role == Role.ADMIN and not user.disabled and _active_admins(session) <= 1:
        raise UserError(f"{user.username} is the last admin and cannot be disabled.")
    user.disabled = disabled
    if not disabled:
        user.failed_logins, user.locked_until = 0, None
    session.add(user)
    session.flush()
    return user


def set_password_hash(*, session: Session, actor: User | None, user_id: int, password_hash: str) -> User:
    """Replace a password hash: admins for anyone, everyone for themselves."""
    if actor is None or actor.id != user_id:
        user = _target(session, actor, user_id)
    else:
        user = require(get_user(session=session, user_id=user_id), Action.VIEW)
    if user is None:  # pragma: no cover - require() raises first
        raise PermissionDenied("No such user.")
    user.password_hash = password_hash
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    session.flush()
    return user


def record_login(*, session: Session, user: User, ok: bool, now: datetime, locked_until: datetime | None) -> None:
    """Store the outcome of a login attempt (failure counter and lock, or last login time)."""
    if ok:
        user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    else:
        user.failed_logins += 1
        user.locked_until = locked_until
    session.add(user)
    session.flush()
