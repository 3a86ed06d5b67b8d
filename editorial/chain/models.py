"""Which model each stage uses, checked before work starts, and the :class:`ChainServices` a run needs.

Settings give the defaults; per-stage overrides saved from the Settings page and per-run choices replace them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from db.crud.app_settings import get_app_setting, set_app_setting
from db.session import session_scope
from editorial.chain.calls import ChatTarget
from editorial.chain.runner import ChainServices
from editorial.grounding.vocabulary import SourceVocabulary
from editorial.settings import Settings
from editorial.usage import token_counter_for

STAGE_ROLES = ("planner", "writer")
STRUCTURED_BACKENDS = frozenset({"openai", "hf_endpoint"})
"""Backends whose servers do structured output (JSON schema); local models plan piece by piece."""


def override_key(role: str) -> str:
    """The AppSetting key holding a stage's model choice."""
    return f"llm.{role}"


def load_overrides(engine: Engine) -> dict[str, dict[str, Any]]:
    """Per-stage model choices saved from the Settings page (``{"writer": {"backend": …}}``)."""
    with session_scope(engine) as session:
        found = {role: get_app_setting(session=session, key=override_key(role)) for role in STAGE_ROLES}
    return {role: value for role, value in found.items() if isinstance(value, dict) and value.get("backend")}


def save_override(engine: Engine, role: str, choice: dict[str, Any] | None) -> None:
    """Save (or clear, with None) a stage's model choice; keys: backend, model, base_url."""
    if role not in STAGE_ROLES:
        raise ValueError(f"unknown stage role {role!r}")
    with session_scope(engine) as session:
        set_app_setting(session=session, key=override_key(role), value=dict(choice) if choice else None)


def apply_overrides(settings: Settings, overrides: dict[str, dict[str, Any]]) -> Settings:
    """A copy of ``settings`` with ``planner_*`` / ``writer_*`` set from ``overrides``."""
    update: dict[str, Any] = {}
    for role, choice in overrides.items():
        if role not in STAGE_ROLES or not choice or not choice.get("backend"):
            continue
        update[f"{role}_backend"] = choice["backend"]
        update[f"{role}_model"] = (choice.get("model") or "").strip() or None
        update[f"{role}_base_url"] = (choice.get("base_url") or "").strip() or None
    return settings.model_copy(update=update) if update else settings


def preflight(settings: Settings, roles: tuple[str, ...] = STAGE_ROLES) -> None:
    """Ping every remote endpoint the given roles use; raise ``BackendUnreachable`` (one line) before any work."""
    from editorial.llm import spec_for
    from editorial.llm.remote import check_backend

    seen = set()
    for role in roles:
        spec = spec_for(settings, role)
        key = (spec.backend, spec.base_url)
        if not spec.is_local and key not in seen:
            seen.add(key)
            check_backend(spec)


def chat_target(settings: Settings, role: str, model: Any | None = None) -> ChatTarget:
    """The chat model for ``role`` with its backend, ledger name and structured-output ability."""
    from editorial.llm import build_chat_model, model_display_name, spec_for

    spec = spec_for(settings, role)
    model = model if model is not None else build_chat_model(settings, role)
    name = model_display_name(spec)
    if not spec.is_local:
        name = getattr(model, "model_name", None) or getattr(model, "model_id", None) or name
    return ChatTarget(
        model, backend=spec.backend, name=str(name), structured_output=spec.backend in STRUCTURED_BACKENDS
    )


def build_services(
    settings: Settings,
    engine: Engine,
    *,
    chroma_name: str | None,
    embeddings: Any | None,
    model_for: Callable[[Settings, str], Any] | None = None,
) -> ChainServices:
    """Everything a run needs; ``model_for(settings, role)`` may supply cached models (the Streamlit page does)."""
    from editorial.chain.research import collection_search

    planner = chat_target(settings, "planner", model_for(settings, "planner") if model_for else None)
    writer = chat_target(settings, "writer", model_for(settings, "writer") if model_for else None)
    search = collection_search(settings, embeddings, chroma_name) if chroma_name and embeddings is not None else None
    vocabulary = (lambda: SourceVocabulary.for_collection(settings, chroma_name, engine)) if chroma_name else None
    return ChainServices(
        embed=embeddings.embed_documents if embeddings is not None else None,
        vocabulary=vocabulary,
        engine=engine,
        planner=planner,
        writer=writer,
        search=search,
        planner_counter=token_counter_for(planner.model),
        writer_counter=token_counter_for(writer.model),
        heartbeat_s=settings.run_heartbeat_s,
    )
