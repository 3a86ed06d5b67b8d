"""AppTests: the Ask page (answer, decline, passages, copy into the draft) and each assist in Editor and Sources."""

from __future__ import annotations

import pytest

from db.crud import usage as usage_crud
from db.models import AskTurn
from db.session import session_scope
from editorial.collections import create_collection
from editorial.datastore import open_database
from editorial.drafts import create_generated_draft
from editorial.ingest import IngestItem, ingest_items
from editorial.settings import get_settings
from pages.ui import resources
from pages.ui.state import Keys
from tests.assists.conftest import BagOfWords
from tests.pages.helpers import open_page
from tests.unit.chain_fakes import RecordingChatModel

SOURCES = {
    "httpx.md": "HTTPX is a fully featured HTTP client library for Python 3. It supports HTTP/1.1 and HTTP/2.",
    "rich.md": "Rich works with Linux, macOS and Windows. Rich requires Python 3.8 or later.",
}
BODY = (
    "Rich requires Python 3.8 or later and works with Linux, macOS and Windows terminals.\n\n"
    "## Installing\n\nInstall Rich with pip and run the demo to check the terminal output.\n\n"
    "This is the most amazing, revolutionary terminal library ever made, a total game changer!\n"
)


@pytest.fixture
def fake_models(monkeypatch):
    """Bag-of-words embeddings and a recording chat model behind the pages' cached resources."""
    state = {"answer": "Rich requires Python 3.8 or later [1].", "models": []}
    embeddings = BagOfWords()

    def chat_model_for(current, role):
        model = RecordingChatModel(responder=lambda messages: state["answer"])
        state["models"].append(model)
        return model

    monkeypatch.setattr(resources, "embeddings", lambda: embeddings)
    monkeypatch.setattr(resources, "chat_model_for", chat_model_for)
    engine = open_database(get_settings())
    collection = create_collection(engine, name="Package docs")
    items = [IngestItem(name, text.encode()) for name, text in SOURCES.items()]
    ingest_items(get_settings(), engine, embeddings, collection_id=collection.id, items=items)
    state["collection_id"] = collection.id
    state["engine"] = engine
    return state


def _draft(engine, body: str = BODY, **front) -> int:
    with session_scope(engine) as session:
        return create_generated_draft(
            session=session,
            title="Rich in practice",
            front_matter={"title": "Rich in practice", "description": "", "tags": ["python"], **front},
            body=body,
            author_id=None,
            collection_id=None,
            plan_id=None,
        ).id


def _calls(engine, stage):
    with session_scope(engine) as session:
        return [c for c in usage_crud.list_calls(session=session) if c.stage == stage]


def test_ask_answers_with_passages_declines_and_copies_into_the_draft(fake_models):
    engine = fake_models["engine"]
    draft_id = _draft(engine)
    at = open_page("pages/ask.py", role="editor", state={Keys.DRAFT_ID: draft_id})
    assert not at.exception
    at.chat_input(key="ask_input").set_value("Which Python version does Rich require?").run()
    assert not at.exception
    assert "Rich requires Python 3.8 or later [1]." in [m.value for m in at.markdown]
    assert any(e.label.startswith("Passages (") and "cited: 1" in e.label for e in at.expander)
    assert _calls(engine, "ask"), "the answer's tokens are in the ledger"

    at.chat_input(key="ask_input").set_value("How many moons does Jupiter have?").run()
    assert any(i.value.startswith("The sources don't say.") for i in at.info)
    with session_scope(engine) as session:
        turns = session.query(AskTurn).order_by(AskTurn.id).all()
        assert [t.declined for t in turns] == [False, True] and turns[0].prompt_tokens > 0

    copy = [b for b in at.button if b.label == "Copy into the draft in the Editor"]
    assert len(copy) == 1  # only the answered turn can be copied
    copy[0].click().run()
    assert not at.exception
    body = at.session_state[f"editor.{draft_id}.body"]
    assert body.endswith("Rich requires Python 3.8 or later (source: rich.md).\n")
    assert [t.value for t in at.toast if "added at the end" in t.value]
    at.switch_page("pages/editor.py").run()  # AppTest keeps its own page; the browser follows st.switch_page
    at.button(key="save").click().run()  # the normal save path makes it a revision
    assert not at.exception and not at.error, [e.value for e in at.error]
    with session_scope(engine) as session:
        from db.crud import drafts as drafts_crud

        revisions = drafts_crud.list_revisions(session=session, draft_id=draft_id)
        assert any("(source: rich.md)" in r.body for r in revisions)


def test_editor_assists_suggest_beside_the_current_value_and_apply_only_when_accepted(fake_models):
    engine = fake_models["engine"]
    fake_models["answer"] = "Rich requires Python 3.8 or later and works with Linux, macOS and Windows terminals."
    draft_id = _draft(engine)
    at = open_page("pages/editor.py", role="editor", state={Keys.DRAFT_ID: draft_id})
    assert not at.exception
    description_key, tags_key = f"editor.{draft_id}.description", f"editor.{draft_id}.tags"

    at.button(key=f"assist.{draft_id}.go_description").click().run()
    assert not at.exception
    assert at.session_state[description_key] == ""  # shown, not applied
    at.button(key=f"assist.{draft_id}.accept_description").click().run()
    accepted = at.session_state[description_key]
    assert accepted.startswith("Rich requires Python 3.8") and len(accepted) <= 150
    assert _calls(engine, "assist description")

    at.button(key=f"assist.{draft_id}.go_tags").click().run()
    assert at.session_state[tags_key] == "python"
    adds = [b for b in at.button if b.key and b.key.startswith(f"assist.{draft_id}.add_tag_")]
    assert adds and all(b.label[2:].isalnum() for b in adds)
    adds[0].click().run()
    assert at.session_state[tags_key] == f"python, {adds[0].label[2:]}"
    assert _calls(engine, "assist tags")

    at.button(key=f"assist.{draft_id}.go_tone").click().run()
    assert not at.exception
    shown = [m.value for m in at.markdown]
    assert any(v.startswith("**Tone** · requested: *practical*") for v in shown)
    assert any("Installing" in v and "keep the tone" in v for v in shown)
    assert any("game changer" in c.value and "reads as" in c.value for c in at.caption)
    assert _calls(engine, "assist tone")


def test_sources_page_summarizes_a_source(fake_models):
    at = open_page("pages/sources.py", role="editor", state={Keys.COLLECTION_ID: fake_models["collection_id"]})
    assert not at.exception
    picker = next(s for s in at.selectbox if s.label == "Open a source")
    picker.select_index(1).run()
    assert not at.exception
    next(b for b in at.button if b.label == "Summarize this source").click().run()
    assert not at.exception
    sentences = [s.strip() + "." for text in SOURCES.values() for s in text.split(".") if len(s.split()) >= 5]
    summaries = [m.value for m in at.markdown if any(sentence in m.value for sentence in sentences)]
    assert summaries, [m.value for m in at.markdown]
    assert any(c.value.startswith("What this source covers · extractive") for c in at.caption)
    assert _calls(fake_models["engine"], "assist source summary")
