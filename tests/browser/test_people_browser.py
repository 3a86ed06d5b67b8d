"""People in the real browser: what an editor cannot reach (by menu or by URL), two editors saving one draft."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot, start_app, wait_for_app
from tests.browser.seed import engine_for, password, seed_draft, seed_people
from tests.browser.ui import (
    click,
    errors,
    fill,
    go,
    login,
    main_text,
    new_page,
    open_tab,
    push_url,
    select,
    textbox,
    wait_for_text,
    wait_saved,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app with seeded accounts and drafts in every interesting state."""
    root = tmp_path_factory.mktemp("people")
    data = root / "data"
    ids = seed_people(data)
    server = start_app(data, root / "app.log")
    server.ids = ids
    server.drafts = {
        status: seed_draft(data, title=f"Post {status}", body=f"Body of the {status} post.", author_id=ids["ed"],
                           status=status)
        for status in ("draft", "in_review", "approved")
    }  # fmt: skip
    try:
        yield server
    finally:
        server.stop()


def _nav_paths(page) -> list[str]:
    page.locator('[data-testid="stSidebarNav"] a').first.wait_for()  # the menu arrives with the first page run
    return page.locator('[data-testid="stSidebarNav"] a').evaluate_all(
        "links => links.map(link => new URL(link.href).pathname)"
    )


def test_an_editor_cannot_reach_approve_export_or_users(app, page):
    login(page, app.url, "ed", password("ed"))
    assert _nav_paths(page) == ["/", "/Drafts", "/Editor", "/Sources", "/Plan-&-Write", "/Ask", "/Usage"]

    # Typing the address inside the session: the gate refuses with one line, the page never runs.
    for path, title, action in (
        ("/Review", "Review", "approve"),
        ("/Users", "Users", "manage users"),
        ("/Settings", "Settings", "manage settings"),
    ):
        push_url(page, path)
        shown = errors(page)
        assert shown == [f"{title} is not available to you: ed is an editor and may not {action}."], shown
        assert "Approve" not in main_text(page) and "Add a user" not in main_text(page)
        if title == "Users":
            screenshot(page, "editor-refused-users")

    # The editor's own pages offer no approve, export, zip or delete.
    go(page, "Drafts")
    assert "Download approved drafts as a .zip" not in main_text(page)
    go(page, "Editor")
    select(page, "Draft", f"#{app.drafts['approved']} Post approved")
    open_tab(page, "Export & publish")
    wait_for_text(page, "Reviewers and admins export and publish approved drafts.")
    assert page.get_by_role("button", name="Download").count() == 0
    assert page.get_by_role("button", name="Send to dev.to").count() == 0
    assert page.get_by_role("button", name="Delete draft").count() == 0
    assert page.get_by_role("button", name="Approve").count() == 0

    # Typing the address with a reload starts a new page session, logged in by the session cookie: the gate
    # still refuses.
    page.goto(f"{app.url}/Users")
    wait_for_app(page)
    assert errors(page) == ["Users is not available to you: ed is an editor and may not manage users."]
    assert "Add a user" not in main_text(page)


def test_a_reviewer_reviews_but_cannot_manage_users(app, browser):
    page = new_page(browser)
    login(page, app.url, "rita", password("rita"))
    assert "/Review" in _nav_paths(page) and "/Users" not in _nav_paths(page)
    push_url(page, "/Users")
    assert errors(page) == ["Users is not available to you: rita is a reviewer and may not manage users."]
    page.context.close()
    # In a browser with no session yet, a bookmarked page opens after the login it asks for.
    page = new_page(browser)
    page.goto(f"{app.url}/Review")
    wait_for_app(page)
    fill(page, "User name", "rita", wait=False)
    fill(page, "Password", password("rita"), wait=False)
    click(page, "Log in")
    wait_for_text(page, "draft(s) waiting")
    page.get_by_role("button", name="Approve").wait_for()
    page.context.close()


def _open_in_editor(page, app, who: str, draft_id: int) -> None:
    login(page, app.url, who, password(who))
    go(page, "Editor")
    select(page, "Draft", f"#{draft_id} Post draft")
    textbox(page, "Markdown").wait_for()


def _type_body(page, text: str) -> None:
    body = textbox(page, "Markdown")
    body.fill(text)
    body.press("Tab")
    wait_for_app(page)


def test_two_editors_one_draft_the_second_save_is_refused_and_recoverable(app, browser, page):
    draft_id = app.drafts["draft"]
    first, second = page, new_page(browser, timeout=60_000)
    try:
        _open_in_editor(first, app, "ed", draft_id)
        _open_in_editor(second, app, "eve", draft_id)
        _type_body(first, "Ed's version of the post.")
        _type_body(second, "Eve's version of the post, typed at the same time.")

        click(first, "Save")
        wait_saved(first, 2)
        click(second, "Save")
        shown = errors(second)
        assert len(shown) == 1 and "revision 2" in shown[0] and "\n" not in shown[0], shown
        wait_for_text(second, "What changed meanwhile")
        screenshot(second, "two-editors-conflict")

        with engine_for(app.data_dir).connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT number, origin, body FROM revision WHERE draft_id = ? ORDER BY number", (draft_id,)
            ).fetchall()
            version = connection.exec_driver_sql("SELECT version FROM draft WHERE id = ?", (draft_id,)).scalar()
        assert version == 2  # Ed's save is current; Eve's text is kept aside, not lost
        assert rows[1][1:] == ("EDITED", "Ed's version of the post.")
        assert rows[2][1:] == ("CONFLICT", "Eve's version of the post, typed at the same time.")
        assert textbox(second, "Markdown").input_value() == "Eve's version of the post, typed at the same time."

        click(second, "Keep my text and save it on top of the current revision")
        click(second, "Save")
        wait_saved(second)
        with engine_for(app.data_dir).connect() as connection:
            current = connection.exec_driver_sql(
                "SELECT r.body FROM revision r JOIN draft d ON d.id = r.draft_id AND d.version = r.number "
                "WHERE d.id = ?",
                (draft_id,),
            ).scalar()
        assert current == "Eve's version of the post, typed at the same time."
    finally:
        second.context.close()
