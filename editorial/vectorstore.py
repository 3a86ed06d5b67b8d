"""Chroma client and per-collection LangChain vector stores (a folder by default, or a server)."""

from __future__ import annotations

import re

from langchain_core.embeddings import Embeddings

from editorial.errors import ChromaUnavailable
from editorial.settings import Settings

_INVALID = re.compile(r"[^a-zA-Z0-9._-]+")


def chroma_location(settings: Settings) -> str:
    """Where Chroma lives, for pages and ``doctor``."""
    if settings.chroma_host:
        scheme = "https" if settings.chroma_ssl else "http"
        where = f"{scheme}://{settings.chroma_host}:{settings.chroma_port}"
        if (settings.chroma_tenant, settings.chroma_database) != ("default_tenant", "default_database"):
            where += f" ({settings.chroma_tenant}/{settings.chroma_database})"
        return where
    return str(settings.resolved_chroma_path)


def chroma_name_for(display_name: str, unique_suffix: str | int) -> str:
    """A valid Chroma collection name (3-512 chars of [a-zA-Z0-9._-], alphanumeric ends) for a display name."""
    slug = _INVALID.sub("-", display_name.strip().lower()).strip("._-")[:40] or "collection"
    name = f"ed-{slug}-{unique_suffix}"
    return name.strip("._-")


def make_chroma_client(settings: Settings):
    """Open the Chroma folder or connect to the server; raise :class:`ChromaUnavailable` with the reason."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    location = chroma_location(settings)
    try:
        if settings.chroma_host:
            client = chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                tenant=settings.chroma_tenant,
                database=settings.chroma_database,
                settings=chroma_settings,
            )
            client.heartbeat()
            return client
        path = settings.resolved_chroma_path
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ChromaUnavailable(f"Chroma at {location} is not reachable: {reason}") from exc


_clients: dict[str, object] = {}


def get_chroma_client(settings: Settings):
    """The process-wide Chroma client for this location (made on first use)."""
    location = chroma_location(settings)
    if location not in _clients:
        _clients[location] = make_chroma_client(settings)
    return _clients[location]


def vector_store(settings: Settings, chroma_name: str, embeddings: Embeddings):
    """A LangChain ``Chroma`` store for one collection (cosine distance)."""
    from langchain_chroma import Chroma

    return Chroma(
        client=get_chroma_client(settings),
        collection_name=chroma_name,
        embedding_function=embeddings,
        collection_metadata={"hnsw:space": "cosine"},
    )
