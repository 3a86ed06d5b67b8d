"""AppTests for sessions from the cookie, links that open drafts/runs/plans/collections, and runs you can return to."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from db.crud.sources import create_collection
from db.models import LoginSession, Role, Run, RunKind, RunStatus, User, utcnow
from db.session import session_scope
from editorial import reviews, sessions
from editorial.chain.calls import ChatTarget
from editorial.chain.runner import ChainServices
from editorial.datastore import open_database
from editorial.drafts import create_generated_draft
from editorial.settings import get_settings
from pages.ui import resources
from pages.ui import sessions as browser_sessions
from pages.ui.state import Keys
from tests.pages.helpers import APP, ensure_user, open_page
from tests.unit.chain_fakes import RecordingChatModel, fake_search, good_responder


def _engine():
    return open_database(get_settings())


def _draft(title: str, author_id: int | None = None, *, status: str = "draft") -> int:
    with session_scope(_engine()) as session:
        draft = create_generated_draft(
            session=session,
            title=title,
            front_matter={"title": title, "tags": ["testing"]},
            body=f"Body of {title}.",
            author_id=author_id,
            collection_id=None,
            plan_id=None,
        )
        draft_id = draft.id
    if status == "in_review":
        with session_scope(_engine()) as session:
            reviews.submit(session=session, draft_id=draft_id, actor=session.get(User, author_id))
    return draft_id


def _open(page: str, role: str = "editor", username: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    from tests.pages.helpers import login

    login(at, ensure_user(username or role, role))
    at.run()
    at.switch_page(page)
    at.query_params.update({key: str(value) for key, value in params.items()})
    return at.run()


# --------------------------------------------------------------------------- sessions
def test_a_valid_cookie_opens_the_app_logged_in_and_an_ended_one_does_not(monkeypatch):
    user = ensure_user("ada", Role.EDITOR)
    with session_scope(_engine()) as session:
        started = sessions.start(session=session, settings=get_settings(), user=user)
    monkeypatch.setattr(browser_sessions, "cookie_session_id", lambda: started.session_id)
    at = AppTest.from_file(APP, default_timeout=60).run()  # a reload: no session state, only the cookie
    assert not at.exception
    assert at.session_state[Keys.USERNAME] == "ada"
    assert any("Logged in as **ada**" in caption.value for caption in at.sidebar.caption)

    at.sidebar.button(key="logout").click().run()
    assert at.subheader[0].value == "Log in" and at.info[0].value == "You logged out."
    again = AppTest.from_file(APP, default_timeout=60).run()  # the same cookie, now ended
    assert again.subheader[0].value == "Log in" and Keys.USER_ID not in again.session_state


def test_log_out_everywhere_ends_the_other_browsers_too():
    first = open_page("pages/drafts.py", role="editor")
    second = open_page("pages/drafts.py", role="editor")  # another browser of the same account
    second.sidebar.button(key="logout_everywhere").click().run()
    assert second.info[0].value == "You were logged out everywhere."
    first.run()
    assert first.subheader[0].value == "Log in" and first.info[0].value == "You were logged out everywhere."


def test_idle_timeout_logs_out_at_the_next_action(monkeypatch):
    monkeypatch.setenv("EDITORIAL_SESSION_IDLE_MINUTES", "5")
    get_settings.cache_clear()
    at = open_page("pages/drafts.py", role="editor")
    assert at.title[0].value == "Drafts"
    with session_scope(_engine()) as session:  # the tab sat idle for 6 minutes
        for row in session.exec(select(LoginSession)).all():
            row.last_seen_at = utcnow() - timedelta(minutes=6)
    at.run()
    assert at.subheader[0].value == "Log in"
    assert at.info[0].value == "Your session ended after a while without activity; please log in again."


# --------------------------------------------------------------------------- links
def test_editor_follows_the_draft_link_and_refuses_unknown_ones():
    editor = ensure_user("editor", Role.EDITOR)
    first, second = _draft("First post", editor.id), _draft("Second post", editor.id)
    at = _open("pages/editor.py", draft=first)
    assert not at.exception and at.title[0].value == "First post"
    assert at.query_params["draft"] == [str(first)] or at.query_params["draft"] == str(first)
    at.sidebar.selectbox(key="editor_pick").set_value(second).run()
    assert at.title[0].value == "Second post"
    at = _open("pages/editor.py", draft=99999)
    assert at.error[0].value == "Draft #99999 does not exist (it may have been deleted)."
    at = _open("pages/editor.py", draft="1; drop table")
    assert "is not a number" in at.error[0].value and not at.exception


def test_review_follows_the_link_or_says_why_not():
    editor = ensure_user("editor", Role.EDITOR)
    waiting = [_draft(f"Waiting {n}", editor.id, status="in_review") for n in range(3)]
    not_waiting = _draft("Still a draft", editor.id)
    at = _open("pages/review.py", role="reviewer", draft=waiting[2])
    assert at.selectbox(key="review_pick").value == waiting[2]
    at = _open("pages/review.py", role="reviewer", draft=not_waiting)
    assert at.error[0].value == f"Draft #{not_waiting} is not waiting for review: it is draft."


def test_sources_follow_the_collection_link():
    with session_scope(_engine()) as session:
        ids = [create_collection(session=session, name=n, chroma_name=f"c-{n}-x").id for n in ("Alpha", "Beta")]
    at = _open("pages/sources.py", collection=ids[1])
    assert at.selectbox(key="sources_collection").value == ids[1]


# --------------------------------------------------------------------------- runs
@pytest.fixture
def held_chain(monkeypatch):
    """Fake models that wait for a signal before each answer, so a run stays in progress while a test looks."""
    gate = threading.Event()

    def responder(messages):
        gate.wait(timeout=600)
        return good_responder(messages)

    def chain_services(current, *, chroma_name):
        model = RecordingChatModel(responder=responder)
        return ChainServices(
            engine=_engine(),
            planner=ChatTarget(model, "embedded", "fake"),
            writer=ChatTarget(model, "embedded", "fake"),
            search=fake_search(),
        )

    monkeypatch.setattr(resources, "chain_services", chain_services)
    with session_scope(_engine()) as session:
        collection_id = create_collection(session=session, name="Docs", chroma_name="docs-held").id
    yield {"gate": gate, "collection_id": collection_id}
    gate.set()
    registry = resources.run_registry()
    for _ in range(600):
        if not registry.active_ids():
            break
        time.sleep(0.05)


def test_a_run_is_listed_reattached_from_another_session_and_links_to_its_draft(held_chain):
    at = _open("pages/plan_write.py", role="editor")
    at.text_input(key="pw_topic").input("retrieval for documentation").run()
    at.number_input(key="pw_words").set_value(600).run()
    at.button(key="pw_both").click().run()
    run_id = at.session_state[Keys.RUN_ID]

    other = _open("pages/plan_write.py", role="editor")  # a reload or another tab: a new session
    assert any(f"**Run #{run_id}**" in m.value for m in other.markdown)
    other.button(key=f"pw_open_run_{run_id}").click().run()
    assert other.session_state[Keys.RUN_ID] == run_id
    assert any(f"Run {run_id} ·" in c.value for c in other.caption)  # the live panel, reattached

    stranger = _open("pages/plan_write.py", role="editor", username="eve", run=run_id)
    assert stranger.error[0].value.startswith(f"Run #{run_id} belongs to another editor")
    reviewer = _open("pages/plan_write.py", role="reviewer", username="rita", run=run_id)
    assert not reviewer.error and any(f"Run {run_id} ·" in c.value for c in reviewer.caption)

    held_chain["gate"].set()
    registry = resources.run_registry()
    for _ in range(1200):  # wait for the run's thread to end (an event, bounded generously)
        if not registry.active_ids():
            break
        time.sleep(0.05)
    other.run()
    assert any("finished" in s.value for s in other.success)
    link = other.get("page_link")[0]
    assert "Open draft" in link.proto.label and "draft=" in link.proto.query_string


def test_a_run_of_another_process_shows_its_stored_progress_and_cancels_through_the_database():
    editor = ensure_user("editor", Role.EDITOR)
    with session_scope(_engine()) as session:
        run = Run(
            kind=RunKind.WRITE,
            status=RunStatus.RUNNING,
            topic="stored topic",
            started_by_id=editor.id,
            stage="write",
            state={
                "blueprint": {"sections": [{"heading": "Intro"}, {"heading": "Middle"}]},
                "sections": [{"heading": "Intro", "text": "Stored intro text.", "budget": 100, "words": 3}],
            },
        )
        session.add(run)
        session.flush()
        run_id = run.id
    at = _open("pages/plan_write.py", run=run_id)
    assert not at.exception
    assert any("stored progress" in c.value for c in at.caption)
    assert at.expander[0].label.startswith("✓ Intro")
    at.button(key=f"cancel_{run_id}").click().run()
    assert not at.exception
    with session_scope(_engine()) as session:
        assert session.get(Run, run_id).cancel_requested  # the process running it polls this flag


# --------------------------------------------------------------------------- editor comforts
def test_text_survives_a_failed_save_and_a_reload_of_the_same_login(monkeypatch):
    import editorial.drafts
    from editorial.errors import EditorialError

    editor = ensure_user("editor", Role.EDITOR)
    draft_id = _draft("Kept post", editor.id)
    at = _open("pages/editor.py", draft=draft_id)
    body_key = f"editor.{draft_id}.body"
    at.text_area(key=body_key).set_value("Typed but never saved.").run()
    assert any("unsaved changes" in m.value for m in at.markdown)

    def failing_save(**kwargs):
        raise EditorialError("The database is locked; try again.")

    monkeypatch.setattr(editorial.drafts, "save_revision", failing_save)
    at.button(key="save").click().run()
    assert at.error[0].value == "The database is locked; try again."
    assert at.text_area(key=body_key).value == "Typed but never saved."

    reload = AppTest.from_file(APP, default_timeout=120)  # same login session (the cookie), fresh page state
    reload.session_state[Keys.SESSION_ID] = at.session_state[Keys.SESSION_ID]
    reload.run()
    reload.switch_page("pages/editor.py")
    reload.query_params["draft"] = str(draft_id)
    reload.run()
    assert reload.text_area(key=body_key).value == "Typed but never saved."
    assert "Your unsaved text (started from revision 1) is back" in reload.info[0].value

    other = _open("pages/editor.py", username="eve", draft=draft_id)  # another person's session: not theirs
    assert other.text_area(key=body_key).value == "Body of Kept post."
