"""Retrieval over a real Chroma folder with keyword-count embeddings: ordering, scores, MMR, filters, the contract."""

from __future__ import annotations

import dataclasses
import math

import pytest
from langchain_core.embeddings import Embeddings

from editorial.collections import create_collection
from editorial.ingest import IngestItem, ingest_items
from editorial.retrieval import Passage, search, search_by_vector, source_chunks

VOCABULARY = ["espresso", "boiler", "descale", "rust", "borrow", "lifetime", "queue", "message", "retention", "the"]


class KeywordEmbeddings(Embeddings):
    """Unit vectors of vocabulary word counts: texts sharing words with the query score higher."""

    def _embed(self, text: str) -> list[float]:
        words = text.lower().replace(".", " ").replace(",", " ").split()
        counts = [float(words.count(word)) for word in VOCABULARY] + [0.01]
        norm = math.sqrt(sum(c * c for c in counts))
        return [c / norm for c in counts]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


DOCS = {
    "coffee.md": "# Coffee\n\n## Boiler\n\nDescale the espresso boiler every month.\n\n## Taste\n\nEspresso espresso.",
    "rust.md": "# Rust\n\nThe borrow checker and each lifetime.\n\n## More\n\nBorrow borrow rules.",
    "queue.md": "# Queue\n\nA message queue keeps each message.\n\n## Retention\n\nRetention of the message log.",
}


@pytest.fixture
def indexed(settings, engine):
    collection = create_collection(engine, name="Search me")
    embeddings = KeywordEmbeddings()
    items = [IngestItem(name, text.encode()) for name, text in DOCS.items()]
    ingest_items(settings, engine, embeddings, collection_id=collection.id, items=items)
    return collection, embeddings


def test_passage_is_the_agreed_contract():
    fields = [(f.name, f.type) for f in dataclasses.fields(Passage)]
    assert fields == [
        ("text", "str"), ("source_id", "int"), ("source_name", "str"), ("location", "str"),
        ("chunk_index", "int"), ("score", "float"), ("chunk_id", "str"),
    ]  # fmt: skip
    assert Passage.__dataclass_params__.frozen


def test_similarity_search_returns_the_relevant_chunk_first_with_scores(settings, indexed):
    collection, embeddings = indexed
    passages = search(settings, embeddings, chroma_name=collection.chroma_name, query="descale the boiler", k=3)
    best = passages[0]
    assert (best.source_name, best.location) == ("coffee.md", "Coffee > Boiler")
    assert "Descale the espresso boiler" in best.text
    assert best.source_id > 0 and len(best.chunk_id) == 64
    assert all(0.0 <= p.score <= 1.0 for p in passages)
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_k_min_score_and_location_paths(settings, indexed):
    collection, embeddings = indexed
    everything = search(settings, embeddings, chroma_name=collection.chroma_name, query="message retention", k=20)
    assert len(everything) == 6
    assert everything[0].location == "Queue > Retention"
    strong = search(
        settings, embeddings, chroma_name=collection.chroma_name, query="message retention", k=20, min_score=0.5
    )
    assert 0 < len(strong) < len(everything) and all(p.score >= 0.5 for p in strong)


def test_mmr_prefers_diverse_passages(settings, indexed):
    collection, embeddings = indexed
    query = "espresso borrow"
    plain = search(settings, embeddings, chroma_name=collection.chroma_name, query=query, k=2)
    diverse = search(
        settings, embeddings, chroma_name=collection.chroma_name, query=query, k=2, mmr=True, lambda_mult=0.3
    )
    assert len(diverse) == 2
    assert {p.source_name for p in diverse} == {"coffee.md", "rust.md"}
    assert diverse[0].chunk_id == plain[0].chunk_id  # MMR starts from the best match


def test_blank_query_and_missing_collection_give_nothing(settings, indexed):
    collection, embeddings = indexed
    assert search(settings, embeddings, chroma_name=collection.chroma_name, query="   ") == []
    assert search(settings, embeddings, chroma_name="ed-never-created-1", query="espresso") == []
    assert search_by_vector(None, [0.1] * 11) == []


def test_source_chunks_come_in_document_order(settings, engine, indexed):
    from db.crud import sources as crud
    from db.session import session_scope

    collection, _ = indexed
    with session_scope(engine) as session:
        source = crud.get_source_by_name(session=session, collection_id=collection.id, name="coffee.md")
    chunks = source_chunks(settings, chroma_name=collection.chroma_name, source_key=source.source_key)
    assert [(c.chunk_index, c.location) for c in chunks] == [(0, "Coffee > Boiler"), (1, "Coffee > Taste")]


def test_a_model_of_another_dimension_is_a_one_line_error(settings, indexed):
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from editorial.errors import ChromaUnavailable

    collection, _ = indexed
    with pytest.raises(ChromaUnavailable, match=r"^Searching the collection failed: .*dimension"):
        search(settings, DeterministicFakeEmbedding(size=7), chroma_name=collection.chroma_name, query="espresso")
