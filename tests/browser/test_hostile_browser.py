"""Hostile and malformed input in the real browser: nothing executes, every refusal is one clear line.

One app serves this module (its own data folder, a 0.05 MB upload limit, a fake dev.to that refuses the key).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from db.models import User
from db.session import session_scope
from editorial.endpoints import save_endpoint
from editorial.settings import Settings
from tests.browser.conftest import screenshot, start_app, wait_for_app
from tests.browser.seed import FakeDevto, engine_for, password, seed_draft, seed_people
from tests.browser.ui import (
    assert_nothing_injected,
    click,
    errors,
    fill,
    go,
    login,
    main_text,
    new_page,
    open_tab,
    select,
    textbox,
    upload,
    wait_for_text,
    wait_saved,
)
from tests.timing import scaled

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"

# Markdown and HTML that try to run script: raw tags, event handlers, javascript: links in every spelling.
HOSTILE_BODY = """\
Message queues keep consumer offsets so that retention and replay work after a crash.

<script>window.__pwned = true; alert('script')</script>
<img src=x onerror="window.__pwned = true; alert('img')">
<svg onload="alert('svg')"></svg>
<iframe src="javascript:alert('iframe')"></iframe>
<a href="javascript:alert('a')">an html link</a>
<details open ontoggle="alert('details')"><summary>details</summary></details>

[a markdown link](javascript:alert('md'))
[an encoded link](javascript&#58;alert('encoded'))
[a data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
![an image](x" onerror="alert('attr'))
<javascript:alert('autolink')>
[a reference link][evil]

[evil]: javascript:alert('ref')
"""
HOSTILE_NAME = "<img src=x onerror=alert('name')> [name](javascript:alert('name'))"
HOSTILE_TITLE = "<script>alert('title')</script> [t](javascript:alert('t'))"


@pytest.fixture(scope="module")
def devto():
    """A fake dev.to that refuses the API key, then rejects the article."""
    fake = FakeDevto([(401, {"error": "unauthorized"}), (422, {"error": "Title can't be blank"})]).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def app(tmp_path_factory, devto):
    """The app with seeded accounts, a small upload limit and the fake dev.to."""
    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"
    ids = seed_people(data)
    server = start_app(
        data,
        root / "app.log",
        extra_env={
            "EDITORIAL_MAX_UPLOAD_MB": "0.05",
            "EDITORIAL_DEVTO_BASE_URL": devto.url,
            "EDITORIAL_DEVTO_API_KEY": "not-a-valid-key",
        },
    )
    server.ids = ids
    try:
        yield server
    finally:
        server.stop()


def _login(page, app, name: str) -> None:
    login(page, app.url, name, password(name))


def _collection(page, name: str) -> None:
    """Open Sources and create ``name`` (first collection) or pick it."""
    go(page, "Sources")
    if "Create the first one" in main_text(page):
        fill(page, "Collection name", name, wait=False)
        click(page, "Create collection")
    wait_for_text(page, "Add sources")


def _wait_for_report(page) -> str:
    """Wait until the ingest started by the last click has finished and its report is shown."""
    page.wait_for_function(
        """() => {
            const text = document.querySelector('[data-testid="stMain"]').innerText;
            return text.includes('Last upload') && !text.includes('while the files are ingested');
        }""",
        timeout=scaled(300_000),
        polling=500,
    )
    wait_for_app(page)
    return main_text(page)


def test_hostile_sources_never_execute_in_preview_or_search(app, page, tmp_path):
    _login(page, app, "ed")
    _collection(page, "Queues")
    hostile_md = tmp_path / "hostile-notes.md"
    hostile_md.write_text("# Hostile notes\n\n" + HOSTILE_BODY, encoding="utf-8")
    hostile_html = tmp_path / "hostile-page.html"
    hostile_html.write_text(
        "<html><head><script>alert('head')</script></head><body onload=\"alert('body')\"><main>"
        "<h1>Queue retention</h1><p>Consumer offsets make replay possible after a crash.</p>"
        "<img src=x onerror=\"alert('html')\"><a href=\"javascript:alert('html-link')\">click</a>"
        "<script>window.__pwned = true</script></main></body></html>",
        encoding="utf-8",
    )
    upload(page, [hostile_md, hostile_html])
    click(page, "Ingest files")
    report = _wait_for_report(page)
    assert "Failed\n\n0" in report, report

    # A pasted text whose title (the source's name) is itself hostile.
    fill(page, "Title of the pasted text", HOSTILE_NAME, wait=False)
    fill(page, "Text (Markdown welcome)", HOSTILE_BODY, wait=False)
    click(page, "Ingest text")
    _wait_for_report(page)
    assert_nothing_injected(page)

    open_tab(page, "Sources")
    for name in ("hostile-notes.md", HOSTILE_NAME):
        select(page, "Open a source", name, exact=True)
        wait_for_text(page, "Showing")
        assert "a markdown link" in main_text(page)  # the chunks are shown as plain text
        assert_nothing_injected(page)
    screenshot(page, "hostile-source-preview")

    open_tab(page, "Search")
    fill(page, "Search your sources", "consumer offsets replay after a crash", wait=False)
    click(page, "Search")
    wait_for_text(page, "Best match")
    assert_nothing_injected(page)
    screenshot(page, "hostile-search")


def test_hostile_draft_never_executes_in_editor_timeline_or_review(app, page, browser):
    _login(page, app, "ed")
    go(page, "Drafts")
    page.get_by_text("New draft").click()
    fill(page, "Title", HOSTILE_TITLE, wait=False)
    post = f"---\ntitle: x\ndescription: \"<img src=x onerror=alert('desc')>\"\ntags: queues\n---\n{HOSTILE_BODY}"
    fill(page, "Markdown (optional) — a post with its own front matter is understood", post, wait=False)
    click(page, "Create and open")
    textbox(page, "Markdown").wait_for()
    wait_for_text(page, "an html link")  # the preview shows the raw HTML as text
    preview = page.locator('[data-testid="stHtml"]').first.inner_text()
    assert "<script>window.__pwned = true; alert('script')</script>" in preview, preview
    assert_nothing_injected(page)
    screenshot(page, "hostile-editor-preview")

    open_tab(page, "Timeline")
    fill(
        page, "Comment", "See <img src=x onerror=alert('comment')> and [this](javascript:alert('comment'))", wait=False
    )
    click(page, "Add comment")
    wait_for_text(page, "commented")
    assert_nothing_injected(page)
    click(page, "Submit for review")
    wait_for_text(page, "Waiting for a reviewer")

    reviewer = new_page(browser)
    _login(reviewer, app, "rita")
    go(reviewer, "Review")
    wait_for_text(reviewer, "an html link")
    reviewer.get_by_text("Timeline").first.click()
    wait_for_text(reviewer, "commented")
    assert_nothing_injected(reviewer)
    screenshot(reviewer, "hostile-review")
    reviewer.context.close()


YAML_TRICKS = [
    ("---\ntitle: !!python/object/apply:os.system ['touch {marker}']\n---\nBody\n", "uses the YAML tag"),
    ("---\ntitle: &a Title\ndescription: *a\n---\nBody\n", "anchors or aliases"),
    ("---\nlaughs: &a [lol, lol]\nmore: [*a, *a, *a]\n---\nBody\n", "anchors or aliases"),
    ("---\ntitle: [unclosed\n---\nBody\n", "is not valid YAML"),
    ("---\n- just\n- a list\n---\nBody\n", "must be a set of 'key: value' lines"),
    ("---\ntitle: Big\ndescription: " + "x" * 70_000 + "\n---\nBody\n", "larger than 64 KB"),
]


def test_front_matter_yaml_tricks_are_refused_with_one_line(app, page, tmp_path):
    marker = tmp_path / "yaml-ran"
    _login(page, app, "ed")
    go(page, "Drafts")
    page.get_by_text("New draft").click()
    for text, message in YAML_TRICKS:
        fill(page, "Title", "YAML", wait=False)
        fill(
            page,
            "Markdown (optional) — a post with its own front matter is understood",
            text.format(marker=marker),
            wait=False,
        )
        click(page, "Create and open")
        shown = errors(page)
        assert len(shown) == 1 and message in shown[0] and "\n" not in shown[0], (text, shown)
        if "{marker}" in text:
            screenshot(page, "hostile-yaml-refused")
    assert not marker.exists()
    assert "Editor" not in page.url  # no draft was created
    # A block that is never closed is no front matter at all: the whole text is the body, read as text.
    fill(
        page,
        "Markdown (optional) — a post with its own front matter is understood",
        f"---\ntitle: !!python/object/apply:os.system ['touch {marker}']\nBody\n",
        wait=False,
    )
    click(page, "Create and open")
    textbox(page, "Markdown").wait_for()
    assert "title: !!python/object/apply:os.system" in textbox(page, "Markdown").input_value()
    assert not marker.exists()


def test_bad_files_each_get_one_line_and_leave_nothing(app, page, tmp_path):
    oversize = tmp_path / "oversize.md"
    oversize.write_text("# Big\n\n" + "A sentence about queues. " * 4000, encoding="utf-8")  # ~100 KB > 0.05 MB
    bad = {
        "garbage.pdf": "",
        "truncated.pdf": "",
        "scanned.pdf": "",
        "slides.key": "Unsupported file type '.key'",
        "empty.md": "The file is empty.",
        "blank.md": "no text",
        "renamed.docx": "",
        "image.txt": "binary data",
        "oversize.md": "over the 0.05 MB limit",
    }
    _login(page, app, "eve")
    _collection(page, "Queues")
    upload(page, [oversize if name == "oversize.md" else FIXTURES / name for name in bad])
    click(page, "Ingest files")
    report = _wait_for_report(page)
    assert f"Failed\n\n{len(bad)}" in report, report
    lines = errors(page)
    for name, message in bad.items():
        line = next((line for line in lines if name in line), None)
        assert line is not None, (name, lines)
        assert message in line and "Traceback" not in line, line
    screenshot(page, "bad-files")
    with engine_for(app.data_dir).connect() as connection:
        kept = connection.exec_driver_sql(
            "SELECT name, status, chunk_count FROM source WHERE status != 'FAILED' OR chunk_count > 0"
        ).fetchall()
    assert not [row for row in kept if row[0] in bad], kept


def test_front_matter_urls_and_oversize_body_are_flagged_at_their_fields(app, page):
    draft_id = seed_draft(app.data_dir, title="Limits", body="Short body.", author_id=app.ids["ed"])
    _login(page, app, "ed")
    go(page, "Editor")
    select(page, "Draft", f"#{draft_id} Limits")
    fill(page, "Canonical URL", "javascript:alert('canonical')")
    fill(page, "Cover image URL", "ftp://example.com/cover.png")
    fill(page, "Tags (up to 4, comma separated)", "one, two, three, four, five")
    body = textbox(page, "Markdown")
    body.fill("word " * 170_000)  # 850 KB
    body.press("Tab")
    wait_for_app(page)
    text = main_text(page)
    assert text.count("Must be an http:// or https:// URL.") == 2, text[:2000]
    assert "At most 4 tags (now 5)." in text
    assert "The body is 850 KB; dev.to accepts at most 800 KB." in text
    assert_nothing_injected(page)
    screenshot(page, "editor-field-errors")
    click(page, "Save")  # a post dev.to would refuse for its size is not saved at all
    shown = errors(page)
    assert len(shown) == 1 and "over dev.to's limit of 800 KB; nothing was saved" in shown[0], shown
    # With a body of a size dev.to takes, the draft saves with its flagged fields, and submitting it is refused.
    body.fill("Short body, still with bad URLs and too many tags.")
    body.press("Tab")
    wait_for_app(page)
    click(page, "Save")
    wait_saved(page, 2)
    click(page, "Submit for review")
    shown = errors(page)
    assert len(shown) == 1 and "\n" not in shown[0] and shown[0].startswith("Fix the draft"), shown
    with engine_for(app.data_dir).connect() as connection:
        status = connection.exec_driver_sql("SELECT status FROM draft WHERE id = ?", (draft_id,)).scalar()
        longest = connection.exec_driver_sql(
            "SELECT max(length(body)) FROM revision WHERE draft_id = ?", (draft_id,)
        ).scalar()
    assert status == "DRAFT" and longest < 1000


def test_dev_to_api_errors_are_one_line(app, page, devto):
    draft_id = seed_draft(
        app.data_dir, title="Ready to ship", body="An approved body.", author_id=app.ids["ed"], status="approved"
    )
    _login(page, app, "rita")
    go(page, "Editor")
    select(page, "Draft", f"#{draft_id} Ready to ship")
    open_tab(page, "Export & publish")
    for expected in ("refused the API key (401)", "rejected the article (422): Title can't be blank"):
        click(page, "Send to dev.to")
        shown = errors(page)
        assert len(shown) == 1 and expected in shown[0], shown
    # The refused create left its intent: before creating again the app looked for the article (dev.to listed none).
    sent = [(method, path.split("?")[0]) for method, path, _ in devto.requests]
    assert sent == [("POST", "/api/articles"), ("GET", "/api/articles/me/all"), ("POST", "/api/articles")], sent
    assert devto.requests[0][2]["article"]["title"] == "Ready to ship"
    screenshot(page, "devto-error")


def test_unreachable_or_bogus_model_endpoints_are_one_line(app, page):
    # Editors pick among endpoints an admin configured; they cannot type a URL (issue 10, item 1).
    settings, engine = Settings(data_dir=app.data_dir), engine_for(app.data_dir)
    with session_scope(engine) as session:
        admin = session.get(User, app.ids["boss"])
    save_endpoint(settings, engine, actor=admin, name="Dead server", backend="openai", model="m",
                  base_url="http://127.0.0.1:9/v1")  # fmt: skip
    _login(page, app, "ed")
    _collection(page, "Queues")
    go(page, "Plan & Write")
    fill(page, "Topic", "message queues")
    page.get_by_text("Models for this run").click()
    assert page.get_by_label("Writer base URL").count() == 0
    select(page, "Writer model", "Dead server", exact=True)
    click(page, "Plan and write in one go")
    shown = errors(page)
    assert len(shown) == 1 and "not reachable or is not an OpenAI-compatible API" in shown[0], shown
    assert "\n" not in shown[0].strip()
    assert_nothing_injected(page)
    screenshot(page, "model-endpoint-error")
