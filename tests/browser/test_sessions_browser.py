"""Sessions, links and runs in a real browser: reload, new tabs, shared links, a run left and found again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from db.crud import drafts as drafts_crud
from db.models import User
from db.session import session_scope
from editorial.sessions import COOKIE_NAME
from tests.browser.conftest import screenshot, start_app, wait_for_app
from tests.browser.events import page_catch_up_ms
from tests.browser.seed import engine_for, password, seed_draft, seed_people
from tests.browser.ui import MAIN, click, fill, go, login, main_text, runs, settle, upload, wait_for_text
from tests.timing import scaled

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
    # the picker may show the title before the form's field is filled: wait for the field itself
    expect(tab.get_by_role("textbox", name="Title", exact=True)).to_have_value(
        "Linked post", timeout=page_catch_up_ms()
    )
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


def test_ctrl_s_saves_and_a_dialog_guards_restore(app, page):
    login(page, app.url, "ed", password("ed"))
    _wait_for_cookie(page)  # the browser stores it right after the login; a reload before that logs in again
    page.goto(f"{app.url}/Editor?draft={app.draft}")
    _logged_in_as(page, "ed")
    box = page.get_by_role("textbox", name="Markdown", exact=True)
    box.fill("Body of the linked post, typed and saved with the keyboard.")
    before = runs(page)
    box.press("Control+s")  # no blur first: the shortcut commits the typed text itself
    settle(page, before)
    wait_for_text(page, "Draft · revision 2")  # the header after the save (the toast may be gone already)
    with session_scope(engine_for(app.data_dir)) as session:
        draft = drafts_crud.get_draft(session=session, draft_id=app.draft)
        current = drafts_crud.current_revision(session=session, draft=draft)
    assert current.body == "Body of the linked post, typed and saved with the keyboard."

    page.get_by_role("tab", name="History", exact=True).click()
    click(page, "Restore")
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Nothing is lost").wait_for()
    before = runs(page)
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    settle(page, before)
    assert page.get_by_role("dialog").count() == 0
    with session_scope(engine_for(app.data_dir)) as session:
        assert drafts_crud.get_draft(session=session, draft_id=app.draft).version == current.number


CORPUS = Path(__file__).resolve().parents[2] / "bench" / "corpus" / "rag"


def test_leave_a_run_reload_and_come_back_to_it(app, page):
    login(page, app.url, "boss", password("boss"))
    _wait_for_cookie(page)
    go(page, "Sources")
    fill(page, "Collection name", "Run notes", wait=False)
    click(page, "Create collection")
    upload(page, sorted(CORPUS.glob("*.md"))[:2])
    click(page, "Ingest files")
    wait_for_text(page, "Last upload", timeout=scaled(600_000))

    go(page, "Plan & Write")
    fill(page, "Topic", "retrieval-augmented generation")
    click(page, "Plan and write in one go")
    page.wait_for_function("() => /[?&]run=\\d+/.test(window.location.search)")
    run_id = int(re.search(r"run=(\d+)", page.url).group(1))
    wait_for_text(page, f"Run {run_id} ·")

    go(page, "Drafts")  # leave the page while the run works …
    page.reload()  # … and reload: a new Streamlit session, logged in by the cookie
    _logged_in_as(page, "boss")
    go(page, "Plan & Write")
    wait_for_text(page, f"Run #{run_id}")  # listed under runs in progress
    click(page, "Open")
    wait_for_text(page, f"Run {run_id} ·")
    screenshot(page, "sessions-run-reattached")

    tab = page.context.new_page()  # the run's link in another tab shows the same live run
    tab.goto(f"{app.url}/Plan-&-Write?run={run_id}")
    _logged_in_as(tab, "boss")
    tab.locator(MAIN).get_by_text(f"Run {run_id} ·").first.wait_for()
    tab.close()

    click(page, "Cancel", exact=False, wait=False)
    wait_for_text(page, f"Run {run_id} cancelled", timeout=scaled(600_000))
    wait_for_app(page)
    before = runs(page)
    page.wait_for_timeout(3_000)  # a window in which a polling panel would have rerun three times
    assert runs(page) == before, "the finished run's panel still polls"
