"""User accounts and the login throttle: plain, keyword-only persistence.

No permission checks here: the account rules (who may add, change or disable whom) live in
``editorial.auth``, which calls these functions after checking.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, literal, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from db.models import LoginFailure, Role, User, name_key, utcnow


def count_users(*, session: Session) -> int:
    """How many accounts exist (disabled ones included)."""
    return session.exec(select(func.count()).select_from(User)).one()


def get_user(*, session: Session, user_id: int | None) -> User | None:
    """The user with ``user_id``, freshly read (None when missing or ``user_id`` is None)."""
    if user_id is None:
        return None
    return session.get(User, user_id, populate_existing=True)


def get_user_by_name(*, session: Session, username: str) -> User | None:
    """The user called ``username``, ignoring case and surrounding spaces, or None."""
    return session.exec(select(User).where(User.username_key == name_key(username))).first()


def list_users(*, session: Session) -> list[User]:
    """Every account, by name."""
    return list(session.exec(select(User).order_by(User.username_key)))


def count_active_admins(*, session: Session) -> int:
    """How many enabled admin accounts exist."""
    statement = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.disabled == False)  # noqa: E712
    return session.exec(statement).one()


def insert_user(*, session: Session, username: str, password_hash: str, role: Role) -> User:
    """Insert an account (the unique name key refuses a case-insensitive duplicate)."""
    user = User(username=username, username_key=name_key(username), role=role, password_hash=password_hash)
    session.add(user)
    session.flush()
    return user


def insert_first_user(*, session: Session, username: str, password_hash: str, role: Role) -> User | None:
    """Insert an account only if no account exists, atomically; None when one exists already.

    SQLite evaluates ``INSERT … SELECT … WHERE NOT EXISTS`` under its single write lock; on
    PostgreSQL the table is locked first so that concurrent first visits queue up.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.exec(sa_select(func.pg_advisory_xact_lock(7_041_961)))
    row = {
        "username": username,
        "username_key": name_key(username),
        "role": Role(role),
        "password_hash": password_hash,
        "disabled": False,
        "created_at": utcnow(),
    }
    values = sa_select(*(literal(value, User.__table__.c[column].type) for column, value in row.items()))
    statement = insert(User).from_select(list(row), values.where(~sa_select(User.id).exists()), include_defaults=False)
    inserted = session.execute(statement.returning(User.id)).first()
    if inserted is None:
        return None
    return get_user(session=session, user_id=inserted[0])


def update_user(*, session: Session, user: User, **values) -> User:
    """Set attributes of ``user`` (e.g. ``role``, ``disabled``, ``password_hash``) and flush."""
    for field, value in values.items():
        setattr(user, field, value)
    session.add(user)
    session.flush()
    return user


def get_login_failure(*, session: Session, username: str) -> LoginFailure | None:
    """The failure counter of a typed user name (any name, existing or not), or None."""
    return session.get(LoginFailure, name_key(username)[:64], populate_existing=True)


def count_login_failure(*, session: Session, username: str, now: datetime) -> int:
    """Add one failed login for ``username`` atomically and return the new count.

    A single ``INSERT … ON CONFLICT DO UPDATE SET failures = failures + 1 … RETURNING`` statement:
    concurrent failures each count (no read-modify-write).
    """
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = make_insert(LoginFailure).values(name_key=name_key(username)[:64], failures=1, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[LoginFailure.name_key],
        set_={"failures": LoginFailure.failures + 1, "updated_at": now},
    ).returning(LoginFailure.failures)
    return session.execute(statement).scalar_one()


def lock_login(*, session: Session, username: str, until: datetime) -> None:
    """Refuse logins for ``username`` until ``until`` (the caller's row lock from the count holds)."""
    session.execute(
        update(LoginFailure)
        .where(LoginFailure.name_key == name_key(username)[:64])
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )


def clear_login_failures(*, session: Session, username: str) -> None:
    """Forget the failures of ``username`` (after a good login, a new password or re-enabling)."""
    session.execute(delete(LoginFailure).where(LoginFailure.name_key == name_key(username)[:64]))


def forget_old_login_failures(*, session: Session, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete counters untouched for ``older_than`` (bounds the table when names are made up); return how many."""
    cutoff = (now or utcnow()) - older_than
    return session.execute(delete(LoginFailure).where(LoginFailure.updated_at < cutoff)).rowcount


def failures_by_name(*, session: Session) -> dict[str, int]:
    """Failed logins in a row, by name key (for the Users page)."""
    return {row.name_key: row.failures for row in session.exec(select(LoginFailure))}
