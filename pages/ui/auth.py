"""The login gate: who is logged in, which pages their role may open, log in and out.

A login starts a server-side session (``editorial.sessions``) that the browser keeps in a signed
HttpOnly cookie, so a reload, a new tab or a bookmark opens logged in. Every run checks that
session again, so a logout elsewhere, a disabled account, a changed role or password and the idle
timeout take effect at the next action.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from db.models import Role, User
from db.session import session_scope
from editorial import sessions
from editorial.workflow import Action, can
from pages.ui import resources
from pages.ui import sessions as browser_sessions
from pages.ui.navigation import PAGES, PageSpec
from pages.ui.state import Keys

LOGIN_PAGE = "pages/login.py"

PAGE_ACTIONS: dict[str, Action] = {
    "pages/review.py": Action.APPROVE,
    "pages/users.py": Action.MANAGE_USERS,
    "pages/settings.py": Action.MANAGE_SETTINGS,
}
"""Pages that need more than a login, and the action that opens them."""

ROLE_NAMES = {Role.EDITOR: "an editor", Role.REVIEWER: "a reviewer", Role.ADMIN: "an admin"}


def _remember(user: User, session_id: str) -> None:
    st.session_state[Keys.USER_ID] = user.id
    st.session_state[Keys.SESSION_ID] = session_id
    st.session_state[Keys.USERNAME] = user.username
    st.session_state[Keys.ROLE] = Role(user.role).value


def log_in(user: User) -> None:
    """Start a login session for ``user`` in this tab and ask the browser to keep its cookie."""
    with session_scope(resources.engine()) as session:
        started = sessions.start(session=session, settings=resources.settings(), user=user)
    _remember(user, started.session_id)
    browser_sessions.ask_for_cookie(started.claim_ticket)


def _forget(notice: str = "", *, forget_cookie: bool = False) -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if notice:
        st.session_state[Keys.SESSION_NOTICE] = notice
    if forget_cookie:
        browser_sessions.ask_to_forget_cookie()


def log_out() -> None:
    """End this login session (every tab of this browser), forget what the pages kept, delete the cookie."""
    with session_scope(resources.engine()) as session:
        sessions.end(session=session, session_id=st.session_state.get(Keys.SESSION_ID))
    _forget("You logged out.", forget_cookie=True)


def log_out_everywhere() -> None:
    """End every session of this account (all browsers and devices), then log out here."""
    user_id = st.session_state.get(Keys.USER_ID)
    if user_id is not None:
        with session_scope(resources.engine()) as session:
            sessions.end_all_for_user(session=session, user_id=user_id)
    _forget("You were logged out everywhere.", forget_cookie=True)


def current_user() -> User | None:
    """The logged-in, active user of this tab or of this browser's cookie; None (state cleared) otherwise."""
    session_id = st.session_state.get(Keys.SESSION_ID)
    from_cookie = session_id is None
    if from_cookie:
        session_id = browser_sessions.cookie_session_id()
    if session_id is None:
        if Keys.USER_ID in st.session_state:
            _forget()
        return None
    with session_scope(resources.engine()) as session:
        result = sessions.check(session=session, settings=resources.settings(), session_id=session_id)
    if result.user is None:
        _forget(result.reason, forget_cookie=True)
        return None
    _remember(result.user, session_id)
    return result.user


def session_notice() -> None:
    """On the login page: why the last session ended (shown once)."""
    notice = st.session_state.pop(Keys.SESSION_NOTICE, "")
    if notice:
        st.info(notice, icon=":material/info:")


def may_open(role: Role | str, path: str) -> bool:
    """Whether ``role`` may open the page at ``path``."""
    action = PAGE_ACTIONS.get(path)
    return action is None or can(role, action)


def url_path(path: str, title: str) -> str:
    """A URL path for a page that differs from its file name.

    With a ``pages/`` folder next to the entry script, Streamlit's legacy multipage mode looks
    pages up by file name and would run such a page directly, skipping this gate (on a server's
    first run, and on every AppTest run). A URL path that never equals a file stem closes that door.
    """
    candidate = "-".join(title.split()) or Path(path).stem
    return candidate if candidate != Path(path).stem else f"{candidate}-page"


def login_page() -> st.Page:
    """The only page offered before login."""
    return st.Page(LOGIN_PAGE, title="Log in", icon=":material/login:", default=True, url_path="Log-in")


def login_pages() -> list[st.Page]:
    """The login page, plus every app page's URL leading to the login form (hidden from the menu).

    A bookmarked or reloaded address (e.g. ``/Drafts``) then shows the login form instead of
    "Page not found", and after logging in the same address opens that page — through the gate,
    which refuses it when the role may not open it.
    """
    pages = [login_page()]
    for spec in PAGES:
        if not spec.default:
            pages.append(
                st.Page(LOGIN_PAGE, title=spec.title, url_path=url_path(spec.path, spec.title), visibility="hidden")
            )
    return pages


def page_objects(role: Role | str) -> tuple[dict[str, list], dict[str, PageSpec]]:
    """``st.Page`` objects by section, pages the role may not open hidden from the menu, and spec by URL path."""
    sections: dict[str, list] = {}
    by_url: dict[str, PageSpec] = {}
    for spec in PAGES:
        visible = may_open(role, spec.path)
        page = st.Page(
            spec.path,
            title=spec.title,
            icon=spec.icon,
            default=spec.default,
            visibility="visible" if visible else "hidden",
            url_path=url_path(spec.path, spec.title),
        )
        sections.setdefault(spec.section, []).append(page)
        by_url[page.url_path] = spec
    return sections, by_url


def refuse_if_forbidden(user: User, spec: PageSpec | None) -> None:
    """Stop the run with one line when ``user`` may not open the page (e.g. an editor typing an admin URL)."""
    if spec is not None and not may_open(user.role, spec.path):
        action = PAGE_ACTIONS[spec.path]
        st.error(
            f"{spec.title} is not available to you: {user.username} is {ROLE_NAMES[Role(user.role)]} "
            f"and may not {action}.",
            icon=":material/block:",
        )
        st.stop()


def require(action: Action = Action.VIEW) -> User:
    """At the top of a page: the logged-in user if their role grants ``action``, else stop the page."""
    user = current_user()
    if user is None:
        st.warning("Please log in.", icon=":material/login:")
        st.stop()
    if not can(user.role, action):
        st.error(f"{user.username} is {ROLE_NAMES[Role(user.role)]} and may not {action}.", icon=":material/block:")
        st.stop()
    return user


def sidebar_account(user: User) -> None:
    """Who is logged in, and the log-out button."""
    with st.sidebar:
        st.caption(f"Logged in as **{user.username}** ({Role(user.role).value})")
        st.button("Log out", icon=":material/logout:", key="logout", on_click=log_out)
        st.button("Log out everywhere", key="logout_everywhere", on_click=log_out_everywhere, type="tertiary")
