"""Two app replicas (``streamlit run serve.py`` on two ports) sharing PostgreSQL, a Chroma server and the queue.

Driven by Debian's Chromium: a run started on replica A is watched live on replica B; killing A mid-run does
not stop the run (a queue worker does it); sources ingested through B are searchable on A; two editors saving
the same draft on different replicas get the conflict message, and both texts are kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from db.crud import drafts as drafts_crud
from db.crud import runs as run_crud
from db.models import Revision, Run, RunStatus, Source, SourceStatus
from db.session import session_scope
from editorial.auth import add_user
from editorial.drafts import create_generated_draft
from tests.browser.conftest import screenshot, wait_for_app
from tests.browser.ui import click, fill, go, login, new_page, open_tab, upload, wait_for_text
from tests.queue.processes import kill_process
from tests.timing import scaled, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PEOPLE = {"boss": "admin", "ed": "editor"}
NOTES = (
    "# Vector indexes\n\nHNSW graphs make approximate nearest neighbour search fast on large collections.\n\n"
    "Quantised vectors shrink the memory an index needs.\n"
)


def _password(name: str) -> str:
    return f"{name}-quiet-harbour"


def _seed(engine) -> dict[str, int]:
    ids: dict[str, int] = {}
    with session_scope(engine) as session:
        admin = None
        for name, role in PEOPLE.items():
            user = add_user(session=session, actor=admin, username=name, password=_password(name), role=role)
            admin = admin or user
            ids[name] = user.id
        draft = create_generated_draft(
            session=session,
            title="Shared post",
            front_matter={"title": "Shared post", "tags": ["testing"]},
            body="The first text of the shared post.",
            author_id=ids["ed"],
            collection_id=None,
            plan_id=None,
        )
        ids["draft"] = draft.id
    return ids


def _run(engine, run_id: int) -> Run:
    with session_scope(engine) as session:
        return run_crud.get_run(session=session, run_id=run_id)


def _page(browser, url: str, who: str):
    page = new_page(browser)
    login(page, url, who, _password(who))
    return page


def test_two_replicas_share_runs_sources_and_drafts(browser, queue_engine, processes, tmp_path: Path):
    ids = _seed(queue_engine)
    # Slowed so the run is still writing when replica A is killed and while B shows its first finished section
    # (each section streams for seconds); 0.4 s a word made the run alone take about two minutes.
    processes.worker("worker", extra_env={"EDITORIAL_FAKE_CHUNK_DELAY_S": "0.15"})
    app_a, url_a = processes.app("replica-a")
    _app_b, url_b = processes.app("replica-b")

    # -- sources ingested through B are searchable on A
    on_b = _page(browser, url_b, "ed")
    go(on_b, "Sources")
    fill(on_b, "Collection name", "Team notes", wait=False)
    click(on_b, "Create collection")
    wait_for_text(on_b, "Add sources")
    notes = tmp_path / "vector-indexes.md"
    notes.write_text(NOTES, encoding="utf-8")
    upload(on_b, [notes])
    click(on_b, "Ingest files")

    def ready() -> bool:
        with session_scope(queue_engine) as session:
            source = session.exec(select(Source).where(Source.name == notes.name)).first()
            return source is not None and source.status == SourceStatus.READY

    wait_until(ready, timeout=scaled(240), what="the upload through replica B to be ingested by the worker")
    on_a = _page(browser, url_a, "ed")
    go(on_a, "Sources")
    open_tab(on_a, "Search")
    fill(on_a, "Search your sources", "approximate nearest neighbour search", wait=False)
    click(on_a, "Search")
    wait_for_text(on_a, "HNSW graphs make approximate nearest neighbour search fast")
    screenshot(on_a, "replicas-01-search-on-a")

    # -- two editors on different replicas save the same draft: the second gets the conflict, nothing is lost
    boss_b = _page(browser, url_b, "boss")
    for page, url in ((on_a, url_a), (boss_b, url_b)):
        page.goto(f"{url}/Editor?draft={ids['draft']}")
        wait_for_app(page)
    texts = {"a": "Ed's text, saved on replica A.", "b": "Boss's text, saved on replica B."}
    for page, text in ((on_a, texts["a"]), (boss_b, texts["b"])):
        box = page.get_by_role("textbox", name="Markdown", exact=True)
        box.fill(text)
        box.press("Tab")
        wait_for_app(page)
    click(on_a, "Save")
    wait_for_text(on_a, "revision 2")
    click(boss_b, "Save")
    wait_for_text(boss_b, "changed while you were editing")  # the conflict message
    screenshot(boss_b, "replicas-02-conflict-on-b")
    with session_scope(queue_engine) as session:
        draft = drafts_crud.get_draft(session=session, draft_id=ids["draft"])
        bodies = [r.body for r in session.exec(select(Revision).where(Revision.draft_id == ids["draft"]))]
        current = drafts_crud.current_revision(session=session, draft=draft)
    assert current.body == texts["a"]
    assert texts["b"] in bodies  # kept as a conflict revision

    # -- a run started on A is watched live on B; killing A mid-run does not stop it
    go(on_a, "Plan & Write")
    fill(on_a, "Topic", "retrieval quality")
    click(on_a, "Plan and write in one go")
    with session_scope(queue_engine) as session:
        run_id = max(r.id for r in run_crud.list_runs(session=session, limit=5))
    on_b.goto(f"{url_b}/Plan-&-Write?run={run_id}")
    wait_for_app(on_b)
    wait_for_text(on_b, "stored progress")  # B draws the run from the database, polling it
    wait_until(
        lambda: _run(queue_engine, run_id).live_text,
        timeout=scaled(240),
        what=f"run {run_id} to stream a section in the worker",
    )
    kill_process(app_a)  # mid-run: the run works in the queue worker, not in replica A
    assert _run(queue_engine, run_id).status == RunStatus.RUNNING
    on_b.locator('[data-testid="stExpander"]').get_by_text("✓", exact=False).first.wait_for(
        timeout=scaled(240_000)
    )  # a finished section appeared on B while the run still works
    assert _run(queue_engine, run_id).status == RunStatus.RUNNING
    screenshot(on_b, "replicas-03-live-on-b")
    done = wait_until(
        lambda: (lambda run: run if run.status != RunStatus.RUNNING else None)(_run(queue_engine, run_id)),
        timeout=scaled(600),
        what=f"run {run_id} to end after replica A was killed",
    )
    assert done.status == RunStatus.SUCCEEDED, done.error
    assert done.draft_id is not None
    wait_for_text(on_b, f"Run {run_id} finished")
    screenshot(on_b, "replicas-04-finished-on-b")
    for page in (on_a, on_b, boss_b):
        page.context.close()
