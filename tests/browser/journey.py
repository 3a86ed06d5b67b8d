"""The editorial journey as steps a person takes in the browser; `test_journey.py` runs them in order on one app.

Each step takes the shared :class:`Journey` (the app's URL, one browser context per person, what earlier
steps learned) and leaves a screenshot of the page it ends on.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from editorial.frontmatter import parse_post
from tests.browser.conftest import REPO_ROOT, screenshot, wait_for_app
from tests.browser.events import (
    RUN_LIMIT_S,
    last_run_id,
    page_catch_up_ms,
    wait_for_ingest_end,
    wait_for_new_run,
    wait_for_rows,
    wait_for_run,
    wait_for_run_end,
)
from tests.browser.ui import (
    assert_nothing_injected,
    click,
    fill,
    go,
    login,
    main_text,
    new_page,
    open_tab,
    runs,
    select,
    settle,
    textbox,
    upload,
    wait_for_text,
    wait_saved,
)
from tests.timing import scaled, wait_until

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "sources"
CORPUS = REPO_ROOT / "bench" / "corpus" / "rag"
UPLOADS = [
    *sorted(CORPUS.glob("*.md")),
    FIXTURES / "espresso-handbook.pdf",
    FIXTURES / "autoscaling-runbook.docx",
    FIXTURES / "borrow-checker.html",
    FIXTURES / "release-checklist.txt",
]
PASSWORDS = {"boss": "boss-quiet-harbour", "ed": "ed-quiet-harbour", "rita": "rita-quiet-harbour"}
TOPIC = "retrieval-augmented generation"
EDITED_HEADING = "Why retrieval keeps answers grounded"
# A claim with a name and a number that no source mentions: the verifier cannot back it.
UNSOURCED_CLAIM = "Zanzibar Labs cut unsupported sentences by 47 percent in 2023 by citing every claim."


@dataclass
class Journey:
    """What the steps share: the app, one page per person, and what earlier steps found out."""

    url: str
    data_dir: Path
    browser: object
    server: object | None = None
    pages: dict = field(default_factory=dict)
    draft_id: int | None = None
    run_id: int | None = None
    streamed: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def page(self, who: str):
        """The logged-in page of ``who`` (a new browser context the first time)."""
        if who not in self.pages:
            page = new_page(self.browser)
            login(page, self.url, who, PASSWORDS[who])
            self.pages[who] = page
        return self.pages[who]

    def query(self, sql: str, *args) -> list[tuple]:
        """Read the app's database directly (to check what the pages claim)."""
        with sqlite3.connect(self.data_dir / "editorial.db") as db:
            return db.execute(sql, args).fetchall()

    def close(self) -> None:
        """Close every person's browser context."""
        for page in self.pages.values():
            page.context.close()


# --------------------------------------------------------------------------- accounts
def first_visit_admin(j: Journey) -> None:
    """A fresh install offers to create the admin; the admin lands logged in."""
    page = new_page(j.browser)
    page.goto(j.url)
    wait_for_app(page)
    wait_for_text(page, "Create the admin account")
    screenshot(page, "01-first-visit-admin-setup")
    fill(page, "User name", "boss", wait=False)
    fill(page, "Password (at least 8 characters)", PASSWORDS["boss"], wait=False)
    fill(page, "Repeat the password", PASSWORDS["boss"], wait=False)
    click(page, "Create the admin account")
    page.get_by_text("Logged in as boss").wait_for()
    wait_for_text(page, "Write grounded technical blog posts")
    screenshot(page, "02-home-admin")
    j.pages["boss"] = page


def admin_adds_people(j: Journey) -> None:
    """The admin creates an editor and a reviewer on the Users page."""
    page = j.page("boss")
    go(page, "Users")
    for name, role in (("ed", "editor"), ("rita", "reviewer")):
        fill(page, "User name", name, wait=False)
        fill(page, "Password (at least 8 characters)", PASSWORDS[name], wait=False)
        select(page, "Role", role, exact=True)
        click(page, "Add")
        page.locator('[data-testid="stDataFrame"]').first.wait_for()
    assert j.query("SELECT username, role FROM user ORDER BY id") == [
        ("boss", "ADMIN"),
        ("ed", "EDITOR"),
        ("rita", "REVIEWER"),
    ]
    screenshot(page, "03-users")
    go(page, "Settings")
    wait_for_text(page, "Settings")
    screenshot(page, "04-settings")


# --------------------------------------------------------------------------- sources
def editor_builds_a_collection(j: Journey) -> None:
    """The editor creates a collection, uploads documents of five types, watches them ingest, searches them."""
    page = j.page("ed")
    go(page, "Sources")
    wait_for_text(page, "Create the first one")
    fill(page, "Collection name", "RAG notes", wait=False)
    click(page, "Create collection")
    wait_for_text(page, "Add sources")
    upload(page, UPLOADS)
    click(page, "Ingest files")
    statuses = wait_for_ingest_end(j.data_dir, [path.name for path in UPLOADS], server=j.server)
    assert set(statuses.values()) == {"READY"}, statuses
    wait_for_text(page, "Last upload", timeout=page_catch_up_ms())
    wait_for_app(page)
    text = main_text(page)
    assert "Failed\n\n0" in text, text
    assert j.query("SELECT count(*), min(status), max(status) FROM source") == [(len(UPLOADS), "READY", "READY")]
    screenshot(page, "05-sources-ingested")


def editor_searches(j: Journey) -> None:
    """The editor searches the collection and sees the best passage with its source."""
    page = j.page("ed")
    if "Sources" not in page.url:
        go(page, "Sources")
    wait_for_app(page)
    open_tab(page, "Search")
    fill(page, "Search your sources", "How large should chunks be?", wait=False)
    click(page, "Search")
    wait_for_text(page, "Best match")
    found = main_text(page)
    assert "chunking.md" in found, found
    assert_nothing_injected(page)
    screenshot(page, "06-sources-search")


# --------------------------------------------------------------------------- plan and write
def _streamed_length(page) -> int:
    """How much text the run panel shows for the section being written."""
    return page.evaluate(
        """() => {
            const blocks = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stMarkdownContainer"]')];
            const label = blocks.findIndex(b => b.innerText.trim().length && b.querySelector('strong')
                && b.innerText.trim() === b.querySelector('strong').innerText.trim());
            return label >= 0 && blocks[label + 1] ? blocks[label + 1].innerText.length : 0;
        }"""
    )


def editor_plans(j: Journey) -> None:
    """A short post on the collection: research and plan, then edit one section of the plan."""
    page = j.page("ed")
    go(page, "Plan & Write")
    fill(page, "Topic", TOPIC)
    number = page.get_by_role("spinbutton", name="Target length (words)")
    number.fill("300")
    number.press("Tab")
    wait_for_app(page)
    started, before = time.monotonic(), last_run_id(j.data_dir)
    click(page, "Research and plan")
    wait_for_run(j.data_dir, before, server=j.server)  # the plan is recorded (fails at once if the run failed)
    j.timings["plan_s"] = time.monotonic() - started
    wait_for_text(page, "is ready: review and edit it on the Plan tab", timeout=page_catch_up_ms())
    wait_for_app(page)
    open_tab(page, "Plan")
    heading = textbox(page, "Section 1")
    heading.wait_for()
    fill(page, "Section 1", EDITED_HEADING)
    screenshot(page, "07-plan-edited")


def editor_writes(j: Journey) -> None:
    """Approve the plan and write it, watching the sections stream in."""
    page = j.page("ed")
    started, before = time.monotonic(), last_run_id(j.data_dir)
    click(page, "Approve and write", wait=False)
    run_id = wait_for_new_run(j.data_dir, before, server=j.server)
    progress = page.get_by_text(re.compile(r"Section \d of \d"))
    wait_until(
        lambda: progress.count() or j.query("SELECT 1 FROM run WHERE id = ? AND status != 'RUNNING'", run_id),
        timeout=scaled(RUN_LIMIT_S),
        what=f"run {run_id}'s first section to show as being written",
    )
    # Watch the section text grow until the run is recorded as ended (the event), under a generous limit.
    deadline = time.monotonic() + scaled(RUN_LIMIT_S)
    shot = False
    while not j.query("SELECT 1 FROM run WHERE id = ? AND status != 'RUNNING'", run_id):
        assert time.monotonic() < deadline, f"run {run_id} was still writing after {scaled(RUN_LIMIT_S):.0f} s"
        if j.server is not None:
            assert j.server.process.poll() is None, "the app exited while writing"
        length = _streamed_length(page)
        if length and (not j.streamed or length != j.streamed[-1]):
            j.streamed.append(length)
            if len(j.streamed) >= 3 and not shot:
                progress.first.scroll_into_view_if_needed()
                screenshot(page, "08-writing-streams")
                shot = True
        page.wait_for_timeout(700)
    status, error = wait_for_run_end(j.data_dir, run_id, server=j.server)
    assert status == "SUCCEEDED", f"run {run_id} ended {status}: {error}"
    j.timings["write_s"] = time.monotonic() - started
    link = page.get_by_text(re.compile(r"Open draft \d+ in the Editor")).first
    link.wait_for(timeout=page_catch_up_ms())
    j.draft_id = int(re.search(r"Open draft (\d+)", link.inner_text()).group(1))
    growing = [b for a, b in zip(j.streamed, j.streamed[1:], strict=False) if b > a]
    assert len(growing) >= 2, f"the section text did not grow while streaming: {j.streamed}"
    [(run_id, status)] = j.query("SELECT id, status FROM run WHERE kind = 'WRITE'")
    assert status == "SUCCEEDED"
    j.run_id = run_id
    body = j.query("SELECT body FROM revision WHERE draft_id = ? AND number = 1", j.draft_id)[0][0]
    assert f"## {EDITED_HEADING}" in body, body[:500]
    wait_for_app(page)
    screenshot(page, "09-write-finished")
    link.click()
    wait_for_app(page)


# --------------------------------------------------------------------------- edit, review, export
def editor_asks_and_takes_a_tag(j: Journey) -> None:
    """The editor asks the collection one question, then accepts one suggested tag in the Editor."""
    page = j.page("ed")
    go(page, "Ask")
    box = page.locator('[data-testid="stChatInputTextArea"]')
    box.fill("How large should chunks be?")
    box.press("Enter")
    page.get_by_text("Passages (", exact=False).first.wait_for(timeout=scaled(600_000))
    assert j.query("SELECT count(*) FROM ask_turn") == [(1,)]
    assert j.query("SELECT count(*) FROM llm_call WHERE stage = 'ask'")[0][0] >= 1
    screenshot(page, "09a-ask")
    go(page, "Editor")
    # A post may come with four tags already (dev.to's limit: every "+ tag" is then disabled); make room for one.
    fill(page, "Tags (up to 4, comma separated)", "rag")
    wait_for_app(page)
    page.get_by_text("Assists: description, tags, tone").click()
    click(page, "Suggest tags")
    suggested = page.get_by_role("button", name=re.compile(r"^\+ [a-z0-9]+$")).first
    suggested.wait_for()
    tag = suggested.inner_text().removeprefix("+ ").strip()
    suggested.click()
    wait_for_app(page)
    assert tag in textbox(page, "Tags (up to 4, comma separated)").input_value()
    screenshot(page, "09b-tag-accepted")


def _editor_body(page):
    return textbox(page, "Markdown")


def editor_edits_and_submits(j: Journey) -> None:
    """Edit the Markdown and the front matter, save, submit for review."""
    page = j.page("ed")
    if "Editor" not in page.url:
        go(page, "Editor")
    body = _editor_body(page)
    body.wait_for()
    text = body.input_value()
    body.fill(text.rstrip() + "\n\nAn editor's note: measure retrieval before tuning prompts.\n")
    body.press("Tab")
    wait_for_app(page)
    fill(page, "Description", "What grounding a post in your own documents changes.")
    fill(page, "Tags (up to 4, comma separated)", "rag, llm, python")
    wait_for_text(page, "An editor's note: measure retrieval before tuning prompts.")  # the live preview
    screenshot(page, "10-editor-edit")
    click(page, "Save")
    wait_saved(page, 2)
    click(page, "Submit for review")
    wait_for_text(page, "Waiting for a reviewer")
    assert j.query("SELECT status, version FROM draft WHERE id = ?", j.draft_id) == [("IN_REVIEW", 2)]


def reviewer_requests_changes(j: Journey) -> None:
    """The reviewer reads the draft and asks for a conclusion."""
    page = j.page("rita")
    go(page, "Review")
    wait_for_text(page, "1 draft(s) waiting")
    assert_nothing_injected(page)
    fill(page, "Note (required to request changes)", "Please add a short conclusion.")
    screenshot(page, "11-review")
    click(page, "Request changes")
    assert j.query("SELECT status FROM draft WHERE id = ?", j.draft_id) == [("CHANGES_REQUESTED",)]
    wait_for_text(page, "Nothing is waiting for review.")


def editor_revises(j: Journey) -> None:
    """The editor sees the request on the timeline, revises and resubmits."""
    page = j.page("ed")
    go(page, "Editor")
    open_tab(page, "Timeline")
    wait_for_text(page, "Please add a short conclusion.")
    open_tab(page, "Edit")
    body = _editor_body(page)
    body.fill(body.input_value().rstrip() + f"\n\n## In short\n\n{UNSOURCED_CLAIM}\n")
    body.press("Tab")
    wait_for_app(page)
    click(page, "Save")
    wait_saved(page, 3)
    click(page, "Submit for review")
    wait_for_text(page, "Waiting for a reviewer")
    assert j.query("SELECT status, version FROM draft WHERE id = ?", j.draft_id) == [("IN_REVIEW", 3)]
    go(page, "Drafts")
    page.locator('[data-testid="stDataFrame"]').first.wait_for()
    screenshot(page, "12-drafts")


def reviewer_approves_and_exports(j: Journey, downloads: Path) -> Path:
    """The reviewer approves, then downloads the dev.to-ready Markdown from the editor."""
    page = j.page("rita")
    go(page, "Review")
    wait_for_text(page, "Changes since the last review")
    # The editor's last paragraph is a claim no source backs: approving needs the acknowledgement (recorded).
    before = runs(page)
    page.get_by_text(re.compile(r"^(I have read the \d+ unsupported sentence|No sources stand behind)")).click()
    settle(page, before)
    click(page, "Approve")
    assert j.query("SELECT status FROM draft WHERE id = ?", j.draft_id) == [("APPROVED",)]
    [(note,)] = j.query("SELECT note FROM review_event WHERE draft_id = ? AND to_status = 'APPROVED'", j.draft_id)
    assert note.startswith("Acknowledged")
    go(page, "Editor")
    open_tab(page, "Export & publish")
    button = page.get_by_role("button", name=re.compile(r"^Download .+\.md$"))
    button.wait_for()
    with page.expect_download() as download_info:
        button.click()
    download = download_info.value
    target = downloads / download.suggested_filename
    download.save_as(target)
    wait_for_app(page)
    screenshot(page, "13-editor-export")
    front_matter, body = parse_post(target.read_text(encoding="utf-8"))
    assert front_matter["published"] is False
    assert front_matter["description"] == "What grounding a post in your own documents changes."
    assert front_matter["tags"] == "rag, llm, python"
    assert front_matter["ai_disclosure_level"] == "fully_autonomous"
    assert front_matter["title"]
    assert f"## {EDITED_HEADING}" in body
    assert "An editor's note: measure retrieval before tuning prompts." in body
    assert body.rstrip().endswith(UNSOURCED_CLAIM)
    wait_for_rows(
        j.data_dir, "SELECT 1 FROM draft WHERE id = ? AND status = 'EXPORTED'", j.draft_id,
        what="the download to be recorded as an export", limit_s=30, server=j.server,
    )  # fmt: skip
    return target


def usage_shows_the_run(j: Journey) -> None:
    """The Usage page shows the run's calls and tokens, and its draft."""
    page = j.page("ed")
    go(page, "Usage")
    wait_for_text(page, "Total tokens")
    calls, tokens = j.query("SELECT count(*), sum(total_tokens) FROM llm_call")[0]
    assert calls > 0 and tokens > 0
    text = main_text(page)
    assert f"{tokens:,}" in text, text[:800]
    failed = j.query("SELECT stage, status, error FROM llm_call WHERE status != 'OK'")
    assert f"{calls} calls, 0 failed" in text, (failed, re.findall(r"\d+ calls, \d+ failed", text))
    page.get_by_role("heading", name="Per draft").wait_for()
    screenshot(page, "14-usage")
    go(page, "Home")
    screenshot(page, "15-home-editor")
