"""Ask and each default assist with the bundled models (SmolLM2, all-MiniLM-L6-v2) on real package READMEs.

The corpus is the long descriptions of three installed packages (``bench/corpus/build_real.py``), written by
nobody on the project. Each test judges the output itself: the fact in the answer and the passage that holds it,
the declined question, tags drawn from the post, a description the post supports. Model work is kept small (one
generated answer, one generated description, 48 new tokens each) for a 2-core machine.
"""

from __future__ import annotations

import json
import re

import pytest

from bench.corpus.build_real import build
from db.crud import usage as usage_crud
from db.crud.sources import get_source_by_name
from db.models import CallStatus
from db.session import session_scope
from editorial.assists.ask import DECLINED, ask
from editorial.assists.common import sentences
from editorial.assists.services import ask_services, editor_services
from editorial.assists.suggest import suggest_description, suggest_tags
from editorial.assists.summaries import passages_of, summarize_source, verified_sentences
from editorial.assists.tone import check_tone
from editorial.cli import main as cli_main
from editorial.collections import create_collection
from editorial.embeddings import build_embeddings
from editorial.frontmatter import validate_front_matter
from editorial.ingest import IngestItem, ingest_items
from editorial.retrieval import source_chunks

pytestmark = pytest.mark.integration

PACKAGES = ("rich.md", "httpx.md", "alembic.md")
OFF_TONE = "Honestly this whole thing is a total disaster and I hate every single minute of it!"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The READMEs of three installed packages (built from their METADATA, nothing committed)."""
    built = build(tmp_path_factory.mktemp("corpora"))
    return {path.name: path for path in built["apps"] if path.name in PACKAGES}


@pytest.fixture
def quiet_settings(settings, monkeypatch):
    """The test's settings with one torch thread and greedy decoding (the CLI reads the same from the environment)."""
    from editorial.settings import get_settings

    monkeypatch.setenv("EDITORIAL_TORCH_THREADS", "1")
    monkeypatch.setenv("EDITORIAL_TEMPERATURE", "0")
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def real(quiet_settings, engine, corpus):
    real_embeddings = build_embeddings(quiet_settings)
    collection = create_collection(engine, name="package readmes")
    items = [IngestItem(name, path.read_bytes()) for name, path in sorted(corpus.items())]
    ingest_items(quiet_settings, engine, real_embeddings, collection_id=collection.id, items=items)
    return real_embeddings, collection


def _calls(engine, stage: str):
    with session_scope(engine) as session:
        return [c for c in usage_crud.list_calls(session=session) if c.stage == stage]


def test_ask_answers_with_the_fact_and_its_passage_and_declines_the_rest(quiet_settings, engine, real, capsys):
    embeddings, collection = real
    services = ask_services(
        quiet_settings, engine, embeddings, chroma_name=collection.chroma_name, collection_id=collection.id
    )
    answer = ask(services, "Which Python version does Rich require?")
    assert not answer.declined, answer
    assert "3.8" in answer.text, answer.text
    holding = [answer.passages[n] for n in answer.cited]
    assert any(p.source_name == "rich.md" and "Python 3.8" in p.text for p in holding), answer
    assert answer.report is not None and not answer.report.unsupported
    if answer.method == "phrased":
        (call,) = _calls(engine, "ask")
        assert call.status == CallStatus.OK and call.prompt_tokens > 0 and call.completion_tokens > 0

    declined = ask(services, "How many moons does Jupiter have?")
    assert declined.declined and declined.text.startswith(DECLINED) and declined.method == "none"
    assert not declined.cited

    assert (
        cli_main(["ask", "--collection", "package readmes", "Who won the football world cup in 1998?", "--json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["declined"] is True


def test_default_assists_on_a_real_readme(quiet_settings, engine, real, corpus):
    embeddings, collection = real
    body = corpus["httpx.md"].read_text(encoding="utf-8") + f"\n\n## Verdict\n\n{OFF_TONE}\n"
    services = editor_services(quiet_settings, engine, embeddings)

    description = suggest_description(services, title="HTTPX", body=body, current="")
    assert description.suggested and validate_front_matter({"title": "t", "description": description.suggested}) == {}
    assert len(description.suggested) <= 150 and "\n" not in description.suggested
    post = passages_of([p for p in re.split(r"\n\s*\n", body) if p.strip()])
    kept, _ = verified_sentences(description.suggested.rstrip("…"), post)
    assert kept, description  # the verifier finds it in the post
    if description.method.startswith("extractive"):  # the post's own sentence, cut to the limit
        own = " ".join(" ".join(sentences(body)).replace("**", "").split())
        assert description.suggested.rstrip("…").rstrip(". ")[:60] in own, description

    tags = suggest_tags(services, title="HTTPX", body=body, current=[])
    assert 1 <= len(tags.suggested) <= 4
    assert "tags" not in validate_front_matter({"title": "t", "tags": tags.suggested})
    own_words = set(re.findall(r"[a-z0-9]+", body.lower()))

    def drawn(tag: str) -> bool:  # one word of the post, or two joined
        return tag in own_words or any(tag[:i] in own_words and tag[i:] in own_words for i in range(1, len(tag)))

    assert all(drawn(tag) for tag in tags.suggested), tags.suggested
    assert "httpx" in tags.suggested or "http" in tags.suggested

    tone = check_tone(quiet_settings, engine, embeddings, body=body, tone="practical")
    assert [s.heading for s in tone.sections][-1] == "Verdict"
    flagged = [item for section in tone.sections for item in section.off]
    assert any(item.sentence == OFF_TONE and item.reads_as != "practical" for item in flagged), flagged
    assert all(item.sentence in " ".join(sentences(body)) for item in flagged)

    with session_scope(engine) as session:
        source = get_source_by_name(session=session, collection_id=collection.id, name="rich.md")
    summary = summarize_source(
        quiet_settings,
        engine,
        embeddings,
        chroma_name=collection.chroma_name,
        source_key=source.source_key,
        source_name=source.name,
        collection_id=collection.id,
    )
    assert summary.method == "extractive" and "Rich" in summary.text
    chunks = source_chunks(quiet_settings, chroma_name=collection.chroma_name, source_key=source.source_key)
    readme = " ".join(" ".join(sentences("\n\n".join(c.text for c in chunks))).split())  # the stored text
    assert all(" ".join(part.split())[:50] in readme for part in sentences(summary.text)), (
        summary.text
    )  # the source's own sentences
    for stage in ("assist description", "assist tags", "assist tone", "assist source summary"):
        assert _calls(engine, stage), stage
