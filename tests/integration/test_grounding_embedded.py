"""The grounded writer with the real embedded SmolLM2 over a corpus of real package READMEs nobody here wrote."""

from __future__ import annotations

import re

import pytest

from bench.bench_grounding import ROLE, SPECIAL, repeated_share, sentences_of, unknown_terms
from bench.corpus.build_real import build
from db.crud import drafts as draft_crud
from db.models import RunKind, RunStatus
from db.session import session_scope
from editorial.chain.models import build_services
from editorial.chain.runner import RunRequest, run_chain
from editorial.collections import create_collection
from editorial.ingest import IngestItem, ingest_items

pytestmark = pytest.mark.integration


def test_a_grounded_post_over_real_documents(settings, engine, tmp_path, real_embeddings):
    files = build(tmp_path / "corpora")["ml"]
    corpus = "\n".join(p.read_text(encoding="utf-8") for p in files).lower()
    embeddings = real_embeddings  # the session's all-MiniLM-L6-v2 (the model the settings name), loaded once
    collection = create_collection(engine, name="ML READMEs")
    ingest_items(
        settings,
        engine,
        embeddings,
        collection_id=collection.id,
        items=[IngestItem(p.name, p.read_bytes()) for p in files],
    )
    services = build_services(settings, engine, chroma_name=collection.chroma_name, embeddings=embeddings)
    topic = "pretrained models with Hugging Face Transformers"
    outcome = run_chain(
        RunRequest(kind=RunKind.PLAN_AND_WRITE, topic=topic, collection_id=collection.id, target_words=150), services
    )
    assert outcome.status == RunStatus.SUCCEEDED, outcome.error
    with session_scope(engine) as session:
        draft = draft_crud.get_draft(session=session, draft_id=outcome.draft_id)
        body = draft_crud.current_revision(session=session, draft=draft).body
        title = draft.title
    sentences = sentences_of(body)
    assert sentences, body
    assert repeated_share(sentences) == 0, body
    assert not [line for line in body.splitlines() if ROLE.match(line) or SPECIAL.search(line)], body
    _terms, unknown = unknown_terms(body, title, corpus, topic)
    assert unknown == [], (unknown, body)
    report = outcome.report
    assert report is not None and report.supported_share >= 0.9, [s.reason for s in report.unsupported]
    assert all(re.search(r"\[\d+\]", s.text) for s in report.sentences if s.status == "supported")
