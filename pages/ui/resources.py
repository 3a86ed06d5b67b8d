"""Heavy objects built once per process with ``st.cache_resource``, and one-line error display."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from editorial.datastore import open_database
from editorial.errors import EditorialError
from editorial.settings import Settings, get_settings


def settings() -> Settings:
    """The process settings (cheap; cached by editorial.settings)."""
    return get_settings()


@st.cache_resource(show_spinner=False)
def _engine_for(url: str, _settings: Settings) -> Engine:
    return open_database(_settings)


def engine() -> Engine:
    """The migrated database engine for the configured URL."""
    current = settings()
    return _engine_for(current.resolved_database_url, current)


@st.cache_resource(show_spinner="Loading the embedding model…")
def _embeddings_for(name: str, _settings: Settings):
    from editorial.embeddings import build_embeddings

    return build_embeddings(_settings)


def embeddings():
    """The configured embedding model, loaded once."""
    current = settings()
    return _embeddings_for(current.embedding_model, current)


@st.cache_resource(show_spinner="Loading the language model…")
def _chat_model_for(spec_key: str, role: str, _settings: Settings):
    from editorial.llm import build_chat_model

    return build_chat_model(_settings, role=role)


def chat_model(role: str = "default"):
    """The chat model for ``role`` (default, planner, writer), loaded once per model spec."""
    from editorial.llm import spec_for

    current = settings()
    spec = spec_for(current, role)
    key = f"{spec.backend}|{spec.model}|{spec.base_url}|{current.torch_dtype}"
    return _chat_model_for(key, role, current)


@st.cache_resource(show_spinner=False)
def run_registry():
    """The process-wide registry of background chain runs (they survive reruns and page switches)."""
    from editorial.chain.runner import RunRegistry
    from editorial.jobs.runs import QueueRunRegistry

    current = settings()
    if current.task_queue == "procrastinate":  # runs execute in queue workers; pages read their rows
        return QueueRunRegistry(current, engine())
    return RunRegistry()


def chat_model_for(current: Settings, role: str):
    """The chat model ``role`` uses under ``current`` settings (per-stage overrides applied), loaded once."""
    from editorial.llm import spec_for

    spec = spec_for(current, role)
    key = f"{spec.backend}|{spec.model}|{spec.base_url}|{current.torch_dtype}"
    return _chat_model_for(key, role, current)


def chain_services(current: Settings, *, chroma_name: str | None):
    """Models and search for one run; remote endpoints are pinged first (one-line error if they fail)."""
    from editorial.chain.models import build_services, preflight

    preflight(current)
    return build_services(
        current,
        engine(),
        chroma_name=chroma_name,
        embeddings=embeddings() if chroma_name else None,
        model_for=chat_model_for,
    )


def show_error(exc: BaseException) -> None:
    """Show an error as one readable line (EditorialError) or a short generic line."""
    if isinstance(exc, EditorialError):
        st.error(str(exc), icon=":material/error:")
    else:
        st.error(f"Unexpected error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
