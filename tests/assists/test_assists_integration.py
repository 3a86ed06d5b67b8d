"""Ask and each default assist with the bundled models (SmolLM2, all-MiniLM-L6-v2) on real package READMEs."""

from __future__ import annotations

import json

import pytest

from bench.corpus.build_real import build
from db.crud import usage as usage_crud
from db.crud.sources import get_source_by_name
from db.session import session_scope
from editorial.assists.ask import ask
from editorial.assists.services import ask_services, editor_services
from editorial.assists.suggest import suggest_description, suggest_tags
from editorial.assists.summaries import summarize_source
from editorial.assists.tone import check_tone
from editorial.cli import main as cli_main
from editorial.collections import create_collection
from editorial.embeddings import build_embeddings
from editorial.frontmatter import validate_front_matter
from editorial.ingest import IngestItem, ingest_items

pytestmark = pytest.mark.integration

PACKAGES = ("rich.md", "httpx.md", "alembic.md")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The READMEs of three installed packages (built from their METADATA, nothing committed)."""
    built = build(tmp_path_factory.mktemp("corpora"))
    return {path.name: path for path in built["apps"] if path.name in PACKAGES}


@pytest.fixture
def real(settings, engine, corpus):
    embeddings = build_embeddings(settings)
    collection = create_collection(engine, name="package readmes")
    items = [IngestItem(name, path.read_bytes()) for name, path in sorted(corpus.items())]
    ingest_items(settings, engine, embeddings, collection_id=collection.id, items=items)
    return embeddings, collection


def _stages(engine):
    with session_scope(engine) as session:
        return [c.stage for c in usage_crud.list_calls(session=session)]


def test_ask_answers_from_the_right_readme_and_declines_the_rest(settings, engine, real, capsys):
    embeddings, collection = real
    services = ask_services(
        settings, engine, embeddings, chroma_name=collection.chroma_name, collection_id=collection.id
    )
    answer = ask(services, "Which Python version does Rich require?")
    assert not answer.declined, answer
    assert answer.report is not None and not answer.report.unsupported
    assert any(answer.passages[n].source_name == "rich.md" for n in answer.cited)
    declined = ask(services, "How many moons does Jupiter have?")
    assert declined.declined and declined.text.startswith("The sources don't say.")
    assert "ask" in _stages(engine) or answer.method == "quoted"

    assert cli_main(["ask", "--collection", "package readmes", "Does Starlette need Python?", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["declined"] is True  # no Starlette README in this collection


def test_default_assists_on_a_real_readme(settings, engine, real, corpus):
    embeddings, collection = real
    body = corpus["httpx.md"].read_text(encoding="utf-8")
    services = editor_services(settings, engine, embeddings)
    description = suggest_description(services, title="HTTPX", body=body, current="")
    assert description.suggested and len(description.suggested) <= 150
    assert validate_front_matter({"title": "t", "description": description.suggested}) == {}
    tags = suggest_tags(services, title="HTTPX", body=body, current=[])
    assert 1 <= len(tags.suggested) <= 4 and "tags" not in validate_front_matter({"title": "t", "tags": tags.suggested})
    assert any(tag in body.lower().replace(" ", "") for tag in tags.suggested)
    tone = check_tone(settings, engine, embeddings, body=body, tone="practical")
    assert tone.sections and sum(s.sentences for s in tone.sections) > 10
    with session_scope(engine) as session:
        source = get_source_by_name(session=session, collection_id=collection.id, name="rich.md")
    summary = summarize_source(
        settings,
        engine,
        embeddings,
        chroma_name=collection.chroma_name,
        source_key=source.source_key,
        source_name=source.name,
        collection_id=collection.id,
    )
    assert summary.method == "extractive" and "Rich" in summary.text
    stages = _stages(engine)
    for stage in ("assist description", "assist tags", "assist tone", "assist source summary"):
        assert stage in stages
