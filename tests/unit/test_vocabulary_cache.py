"""A collection's vocabulary is read from Chroma once and read again only when its sources change."""

from __future__ import annotations

import pytest

from db.crud import sources as source_crud
from db.session import session_scope
from editorial.grounding import vocabulary as vocabulary_module
from editorial.grounding.vocabulary import SourceVocabulary


@pytest.fixture
def reads(monkeypatch):
    calls: list[str] = []
    texts = {"docs": "Chroma stores embeddings."}

    def fake_read(cls, settings, chroma_name):
        calls.append(chroma_name)
        return SourceVocabulary.from_texts([texts["docs"]])

    monkeypatch.setattr(SourceVocabulary, "_read", classmethod(fake_read))
    vocabulary_module._CACHE.clear()
    yield calls, texts
    vocabulary_module._CACHE.clear()


def test_the_vocabulary_is_read_once_until_an_ingest_changes_the_collection(settings, engine, reads):
    calls, texts = reads
    with session_scope(engine) as session:
        collection = source_crud.create_collection(session=session, name="Docs", chroma_name="c_docs")
        source, _ = source_crud.start_ingesting(
            session=session,
            collection_id=collection.id,
            name="a.md",
            kind="md",
            size_bytes=10,
            page_count=None,
            added_by_id=None,
        )
        source_crud.mark_ready(session=session, source_id=source.id, chunk_count=1, content_hash="h1")
        source_id = source.id
    first = SourceVocabulary.for_collection(settings, "c_docs", engine)
    again = SourceVocabulary.for_collection(settings, "c_docs", engine)
    assert first is again and calls == ["c_docs"] and first.contains("Chroma")

    texts["docs"] = "Chroma stores embeddings. Pinecone too."
    with session_scope(engine) as session:  # a re-ingest (here or in another process) marks the source again
        source_crud.mark_ready(session=session, source_id=source_id, chunk_count=2, content_hash="h2")
    fresh = SourceVocabulary.for_collection(settings, "c_docs", engine)
    assert calls == ["c_docs", "c_docs"] and fresh.contains("Pinecone")
    assert len(vocabulary_module._CACHE) == 1  # the stale entry was replaced, not kept beside the new one

    SourceVocabulary.for_collection(settings, "c_docs")  # without the database: always read
    assert len(calls) == 3
