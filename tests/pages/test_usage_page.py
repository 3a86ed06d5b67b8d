"""Usage under AppTest: totals, tokens per published word, cost from prices, filters and CSV."""

from __future__ import annotations

from datetime import timedelta

from db.crud import usage as usage_crud
from db.crud.sources import create_collection
from db.models import CallStatus, Draft, utcnow
from db.session import session_scope
from editorial.datastore import open_database
from editorial.settings import get_settings
from tests.pages.helpers import open_page

PAGE = "pages/usage.py"


def seed():
    with session_scope(open_database(get_settings())) as session:
        docs = create_collection(session=session, name="Docs", chroma_name="ed-docs-1").id
        other = create_collection(session=session, name="Other", chroma_name="ed-other-2").id
        draft = Draft(title="A post", word_count=100, collection_id=docs)
        session.add(draft)
        session.flush()
        common = {"collection_id": docs, "draft_id": draft.id}
        usage_crud.record_call(
            session=session,
            stage="plan",
            backend="embedded",
            model="SmolLM2",
            prompt_tokens=300,
            completion_tokens=100,
            **common,
        )
        usage_crud.record_call(
            session=session,
            stage="section 1",
            backend="openai",
            model="gpt-x",
            prompt_tokens=400,
            completion_tokens=200,
            cached_prompt_tokens=50,
            **common,
        )
        usage_crud.record_call(
            session=session,
            stage="section 2",
            backend="openai",
            model="gpt-x",
            prompt_tokens=10,
            status=CallStatus.ERROR,
            error="boom",
            **common,
        )
        usage_crud.record_call(
            session=session,
            stage="try",
            backend="openai",
            model="gpt-x",
            prompt_tokens=1000,
            completion_tokens=1000,
            collection_id=other,
        )
        usage_crud.record_call(
            session=session,
            stage="plan",
            backend="openai",
            model="gpt-x",
            prompt_tokens=5,
            completion_tokens=5,
            created_at=utcnow() - timedelta(days=60),
        )
        usage_crud.set_price(session=session, model="gpt-x", prompt_per_million=1_000, completion_per_million=2_000)
        usage_crud.set_price(session=session, model="SmolLM2", prompt_per_million=1_000, completion_per_million=1_000)
        return docs


def metrics(at):
    return {m.label: m.value for m in at.metric}


def test_totals_cost_ratio_and_csv():
    seed()
    at = open_page(PAGE)
    assert not at.exception
    found = metrics(at)
    assert found["Total tokens"] == f"{300 + 100 + 400 + 200 + 10 + 2000:,}"
    assert found["Cached prompt"] == "50"
    assert found["Successful requests"] == "3"
    # local SmolLM2 costs nothing whatever its price; gpt-x: (400+10+1000)*1000/1e6 + (200+1000)*2000/1e6
    assert found["Estimated cost"] == f"${1.41 + 2.4:,.4f}"
    assert any("Tokens per published word: **10.1**" in c.value for c in at.caption)
    assert at.get("download_button")


def test_collection_filter():
    docs = seed()
    at = open_page(PAGE)
    at.selectbox[0].set_value(docs).run()
    assert not at.exception
    assert metrics(at)["Total tokens"] == f"{1010:,}"


def test_empty_ledger_says_so():
    at = open_page(PAGE)
    assert not at.exception
    assert "No model calls in this range yet" in at.info[0].value


def test_settings_price_editor_and_stage_models():
    from db.crud import usage as crud
    from editorial.chain.models import load_overrides

    at = open_page("pages/settings.py")
    assert not at.exception
    price_form = next(t for t in at.text_input if t.label.startswith("Model name"))
    price_form.input("gpt-x")
    numbers = [n for n in at.number_input if "per million" in n.label]
    numbers[0].set_value(1.5)
    numbers[1].set_value(6.0)
    next(b for b in at.button if b.label == "Save price").click().run()
    assert not at.exception
    with session_scope(open_database(get_settings())) as session:
        (price,) = crud.list_prices(session=session)
    assert (price.model, price.prompt_per_million, price.completion_per_million) == ("gpt-x", 1.5, 6.0)

    # An unreachable writer endpoint is refused with one line and not saved.
    writer = next(s for s in at.selectbox if s.label == "Writer backend")
    writer.set_value("openai")
    next(t for t in at.text_input if t.label == "Writer base URL").input("http://127.0.0.1:9")
    [b for b in at.button if b.label == "Save"][1].click().run()
    assert any("is not reachable" in e.value for e in at.error)
    assert load_overrides(open_database(get_settings())) == {}

    planner = next(s for s in at.selectbox if s.label == "Planner backend")
    planner.set_value("transformers")
    next(t for t in at.text_input if t.label == "Planner model").input("/models/other")
    next(b for b in at.button if b.label == "Save").click().run()
    assert load_overrides(open_database(get_settings()))["planner"]["model"] == "/models/other"
