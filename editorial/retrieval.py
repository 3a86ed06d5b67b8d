"""Search a collection's chunks: similarity or MMR, scored in [0, 1]. The writing chain uses the same function."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from editorial.settings import Settings


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk and where it comes from."""

    text: str
    source_id: int  # db Source.id
    source_name: str  # file name shown to users
    location: str  # "page 3" or "Intro > Setup" (heading path), "" if none
    chunk_index: int
    score: float  # relevance in [0, 1], higher is better (1 - cosine distance)
    chunk_id: str  # the Chroma id


def _passage(chunk_id: str, text: str | None, metadata: dict | None, distance: float | None) -> Passage:
    metadata = metadata or {}
    score = 0.0 if distance is None else min(1.0, max(0.0, 1.0 - float(distance)))
    return Passage(
        text=text or "",
        source_id=int(metadata.get("source_id", 0) or 0),
        source_name=str(metadata.get("source_name", "")),
        location=str(metadata.get("location", "")),
        chunk_index=int(metadata.get("chunk_index", 0) or 0),
        score=score,
        chunk_id=chunk_id,
    )


def search_by_vector(
    collection,
    vector: list[float],
    *,
    k: int = 5,
    mmr: bool = False,
    fetch_k: int = 20,
    lambda_mult: float = 0.5,
    min_score: float | None = None,
) -> list[Passage]:
    """Top-k passages for an already embedded query in a raw Chroma collection, best first."""
    if collection is None or k <= 0:
        return []
    wanted = max(k, fetch_k) if mmr else k
    include = ["documents", "metadatas", "distances"] + (["embeddings"] if mmr else [])
    result = collection.query(query_embeddings=[vector], n_results=wanted, include=include)
    ids = result["ids"][0] if result["ids"] else []
    if not ids:
        return []
    texts, metadatas, distances = result["documents"][0], result["metadatas"][0], result["distances"][0]
    order = list(range(len(ids)))
    if mmr:
        import numpy as np
        from langchain_core.vectorstores.utils import maximal_marginal_relevance

        order = maximal_marginal_relevance(
            np.asarray(vector, dtype=np.float32), list(result["embeddings"][0]), k=k, lambda_mult=lambda_mult
        )
    passages = [_passage(ids[i], texts[i], metadatas[i], distances[i]) for i in order[:k]]
    if min_score is not None:
        passages = [passage for passage in passages if passage.score >= min_score]
    return passages


def search(
    settings: Settings,
    embeddings: Embeddings,
    *,
    chroma_name: str,
    query: str,
    k: int = 5,
    mmr: bool = False,
    fetch_k: int = 20,
    lambda_mult: float = 0.5,
    min_score: float | None = None,
) -> list[Passage]:
    """Top-k chunks for query in one collection (similarity, or MMR when mmr=True), best first.

    Args:
        settings: Where Chroma lives.
        embeddings: The embedding model the collection was built with.
        chroma_name: ``SourceCollection.chroma_name``.
        query: The question or topic; blank gives no passages.
        k: How many passages to return.
        mmr: Diversify with maximal marginal relevance over ``fetch_k`` candidates.
        fetch_k: Candidates considered by MMR.
        lambda_mult: MMR trade-off, 1 = relevance only, 0 = diversity only.
        min_score: Drop passages scoring below this.

    Returns:
        Passages, best first (for MMR: in selection order, which starts with the best match).
    """
    from editorial.ingest.records import chroma_collection

    if not query.strip():
        return []
    collection = chroma_collection(settings, chroma_name)
    if collection is None:
        return []
    vector = embeddings.embed_query(query)
    try:
        return search_by_vector(
            collection, vector, k=k, mmr=mmr, fetch_k=fetch_k, lambda_mult=lambda_mult, min_score=min_score
        )
    except Exception as exc:  # e.g. a collection built with another embedding model (other dimension)
        from editorial.errors import ChromaUnavailable

        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ChromaUnavailable(f"Searching the collection failed: {reason}") from exc


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as stored, for previewing a source."""

    text: str
    location: str
    chunk_index: int
    chunk_id: str


def source_chunks(settings: Settings, *, chroma_name: str, source_key: str) -> list[StoredChunk]:
    """Every stored chunk of one source, in document order."""
    from editorial.ingest.records import chroma_collection

    collection = chroma_collection(settings, chroma_name)
    if collection is None:
        return []
    result = collection.get(where={"source": source_key}, include=["documents", "metadatas"])
    chunks = [
        StoredChunk(
            text or "", str((meta or {}).get("location", "")), int((meta or {}).get("chunk_index", 0)), chunk_id
        )
        for chunk_id, text, meta in zip(result["ids"], result["documents"], result["metadatas"], strict=True)
    ]
    return sorted(chunks, key=lambda chunk: chunk.chunk_index)
