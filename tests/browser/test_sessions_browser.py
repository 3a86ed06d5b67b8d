"""Sessions, links and runs in a real browser: reload, new tabs, shared links, a run left and found again."""

from __future__ import annotations

import pytest

from db.models import User
from db.session import session_scope
from editorial.sessions import COOKIE_NAME
from tests.browser.conftest import screenshot, start_app, wait_for_app
from tests.browser.seed import engine_for, password, seed_draft, seed_people
from tests.browser.ui import click, login, main_text, runs, settle, wait_for_text

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app with seeded accounts and one draft."""
    root = tmp_path_factory.mktemp("sessions")
    data = root / "data"
    ids = seed_people(data)
    server = start_app(data, root / "app.log")
    server.ids = ids
    server.draft = seed_draft(data, title="Linked post", body="Body of the linked post.", author_id=ids["ed"])
    try:
        yield server
    finally:
        server.stop()


def _session_cookie(page) -> dict | None:
    page.wait_for_function("() => true")
    return next((c for c in page.context.cookies() if c["name"] == COOKIE_NAME), None)


def _wait_for_cookie(page) -> dict:
    for _ in range(100):
        cookie = _session_cookie(page)
        if cookie:
            return cookie
        page.wait_for_timeout(100)  # polling the browser's cookie jar, not waiting for a model
    raise AssertionError("the session cookie never arrived")


def _logged_in_as(page, username: str) -> None:
    wait_for_app(page)
    page.locator('[data-testid="stSidebar"]').get_by_text(f"Logged in as {username}").wait_for()


def test_reload_new_tab_and_a_draft_link_stay_logged_in(app, page):
    login(page, app.url, "ed", password("ed"))
    cookie = _wait_for_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert COOKIE_NAME not in page.evaluate("() => document.cookie")  # page scripts cannot read it

    page.reload()
    _logged_in_as(page, "ed")

    tab = page.context.new_page()
    tab.goto(f"{app.url}/Editor?draft={app.draft}")
    _logged_in_as(tab, "ed")
    wait_for_text(tab, "Linked post")
    assert tab.get_by_role("textbox", name="Title", exact=True).input_value() == "Linked post"
    screenshot(tab, "sessions-draft-link-new-tab")
    tab.close()


def test_a_disabled_account_is_logged_out_in_every_tab_at_its_next_action(app, browser):
    from tests.browser.ui import new_page

    page = new_page(browser)
    try:
        login(page, app.url, "eve", password("eve"))
        _wait_for_cookie(page)
        other = page.context.new_page()
        other.goto(f"{app.url}/Drafts")
        _logged_in_as(other, "eve")

        with session_scope(engine_for(app.data_dir)) as session:
            session.get(User, app.ids["eve"]).disabled = True

        before = runs(other)
        other.locator('[data-testid="stSidebarNav"] a', has_text="Drafts").first.click()
        settle(other, before)
        other.get_by_role("textbox", name="User name", exact=True).wait_for()
        assert "Your account was disabled" in main_text(other)

        page.reload()
        page.get_by_role("textbox", name="User name", exact=True).wait_for()
    finally:
        with session_scope(engine_for(app.data_dir)) as session:
            session.get(User, app.ids["eve"]).disabled = False
        page.context.close()


def test_logging_out_ends_the_session_for_a_reload(app, page):
    login(page, app.url, "rita", password("rita"))
    _wait_for_cookie(page)
    click(page, "Log out")
    page.get_by_role("textbox", name="User name", exact=True).wait_for()
    page.reload()
    wait_for_app(page)
    page.get_by_role("textbox", name="User name", exact=True).wait_for()
    assert "Logged in as" not in page.locator('[data-testid="stSidebar"]').all_inner_texts()
