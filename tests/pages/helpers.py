"""Open a page of the real app under Streamlit's AppTest, logged in as a user of a given role."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from db.models import Role, User
from db.session import session_scope
from editorial import sessions
from editorial.datastore import open_database
from editorial.settings import get_settings
from pages.ui.state import Keys
from tests.timing import scaled

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = str(REPO_ROOT / "streamlit_app.py")


def ensure_user(username: str = "admin", role: Role | str = Role.ADMIN) -> User:
    """Create (or fetch) a user directly in the test database."""
    from sqlmodel import select

    with session_scope(open_database(get_settings())) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            user = User(username=username, role=Role(role), password_hash="not-a-real-hash")
            session.add(user)
            session.flush()
        return user


def login(at: AppTest, user: User) -> AppTest:
    """Start a login session for ``user`` and seed the session state the login gate reads."""
    settings = get_settings()
    with session_scope(open_database(settings)) as session:
        started = sessions.start(session=session, settings=settings, user=user)
    at.session_state[Keys.SESSION_ID] = started.session_id
    at.session_state[Keys.USER_ID] = user.id
    at.session_state[Keys.USERNAME] = user.username
    at.session_state[Keys.ROLE] = str(user.role.value)
    return at


def open_page(
    page: str | None = None,
    *,
    role: Role | str | None = Role.ADMIN,
    username: str | None = None,
    timeout: float = 120,
    state: dict | None = None,
) -> AppTest:
    """Run the app (optionally logged in) and switch to ``page`` (e.g. ``"pages/settings.py"``); ``timeout`` is scaled.

    ``state`` seeds more session-state entries (e.g. ``{Keys.DRAFT_ID: 3}``) before the first run.
    """
    at = AppTest.from_file(APP, default_timeout=scaled(timeout))
    if role is not None:
        login(at, ensure_user(username or str(Role(role).value), role))
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    return at
