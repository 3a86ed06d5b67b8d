"""Build the services the assists need from settings, saved overrides and the loaded models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from editorial.assists import pipelines
from editorial.assists.ask import AskServices
from editorial.assists.suggest import EditorServices
from editorial.chain.models import apply_overrides, chat_target, load_overrides
from editorial.grounding.vocabulary import SourceVocabulary
from editorial.settings import Settings

ModelFor = Callable[[Settings, str], Any]
"""``model_for(settings, role)`` → a (cached) chat model; pages pass their ``st.cache_resource`` builder."""


def effective_settings(settings: Settings, engine: Engine) -> Settings:
    """``settings`` with the Settings page's saved model choices (writer model, task models) applied."""
    settings = apply_overrides(settings, load_overrides(engine))
    return pipelines.apply_task_overrides(settings, pipelines.load_task_overrides(engine))


def vocabulary_for(settings: Settings, chroma_name: str | None, engine: Engine) -> Any:
    """The names and numbers of a collection's sources (None without a collection; cached until they change)."""
    if not chroma_name:
        return None
    return SourceVocabulary.for_collection(settings, chroma_name, engine)


def ask_services(
    settings: Settings,
    engine: Engine,
    embeddings: Any,
    *,
    chroma_name: str,
    collection_id: int | None,
    model_for: ModelFor | None = None,
) -> AskServices:
    """Everything Ask needs: the QA model when configured, else the writer's chat model (the bundled one).

    Raises:
        TaskModelUnavailable / ModelUnavailable: a configured model cannot be loaded (one line naming it).
    """
    settings = effective_settings(settings, engine)
    qa = pipelines.load_task_model(settings, "qa")
    target = None
    if qa is None:
        target = chat_target(settings, "writer", model_for(settings, "writer") if model_for else None)
    return AskServices(
        settings=settings,
        engine=engine,
        embeddings=embeddings,
        chroma_name=chroma_name,
        collection_id=collection_id,
        target=target,
        qa=qa,
        vocabulary=vocabulary_for(settings, chroma_name, engine),
    )


def editor_services(
    settings: Settings,
    engine: Engine,
    embeddings: Any,
    *,
    chroma_name: str | None = None,
    with_generator: bool = True,
    model_for: ModelFor | None = None,
) -> EditorServices:
    """Services of the editor assists (the generator only when the description assist needs it)."""
    settings = effective_settings(settings, engine)
    target = None
    if with_generator and not pipelines.configured_model(settings, "summarization"):
        target = chat_target(settings, "writer", model_for(settings, "writer") if model_for else None)
    return EditorServices(
        settings=settings,
        engine=engine,
        embeddings=embeddings,
        target=target,
        vocabulary=vocabulary_for(settings, chroma_name, engine),
    )
