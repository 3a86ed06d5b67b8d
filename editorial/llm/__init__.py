"""Chat models for every backend, behind one small API.

Public API::

    spec_for(settings, role) -> ModelSpec            # which model a role (default/planner/writer) uses
    build_chat_model(settings, role="default", spec=None) -> BaseChatModel
    model_display_name(spec) -> str                  # short name for pages and the usage ledger
    describe_model_source(settings, role) -> str     # where it loads from (GGUF, checkpoint, hub id, URL)
    check_model(settings, role) -> tuple[bool, str]  # for ``doctor``: load or ping, one line

Backends are looked up in :data:`BACKENDS`, which maps a backend name to a :class:`Backend` or to the
``"module:attribute"`` path of one (imported on first use, so torch is only imported when a local model is used).
Adding a backend is one entry (module path, or ``BACKENDS[name] = Backend(...)`` at run time); a backend name that
is not in the dict, or whose module cannot be imported, raises :class:`~editorial.errors.ModelUnavailable` naming it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from editorial.errors import EditorialError, ModelUnavailable
from editorial.llm.spec import ROLES, Backend, ModelSpec, Role, spec_for
from editorial.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = [
    "BACKENDS",
    "ROLES",
    "Backend",
    "ModelSpec",
    "Role",
    "build_chat_model",
    "check_model",
    "describe_model_source",
    "get_backend",
    "model_display_name",
    "spec_for",
]

BACKENDS: dict[str, Backend | str] = {
    "embedded": "editorial.llm.local_backends:EMBEDDED_BACKEND",
    "transformers": "editorial.llm.local_backends:TRANSFORMERS_BACKEND",
    "openai": "editorial.llm.remote:OPENAI_BACKEND",
    "hf_endpoint": "editorial.llm.remote:HF_ENDPOINT_BACKEND",
}
"""Backend name -> :class:`Backend` or ``"module:attribute"`` of one (resolved lazily, then cached here)."""


def get_backend(name: str) -> Backend:
    """The backend registered under ``name``.

    Raises:
        ModelUnavailable: no such backend is registered.
    """
    entry = BACKENDS.get(name)
    if entry is None:
        known = ", ".join(sorted(BACKENDS))
        raise ModelUnavailable(f"The model backend '{name}' is not available in this installation (known: {known}).")
    if isinstance(entry, str):
        module_name, _, attribute = entry.partition(":")
        try:
            entry = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            reason = f"{entry}: {type(exc).__name__}"
            raise ModelUnavailable(f"The model backend '{name}' cannot be loaded ({reason}).") from exc
        BACKENDS[name] = entry
    return entry


def build_chat_model(settings: Settings, role: Role = "default", spec: ModelSpec | None = None) -> BaseChatModel:
    """Build the LangChain chat model for ``role`` (or for an explicit ``spec``).

    Local models are loaded once per process per (model, dtype); calling this again is cheap.

    Raises:
        ModelUnavailable: unknown backend, missing or unloadable model (one-line message naming it).
        BackendUnreachable: a remote endpoint does not answer.
    """
    spec = spec or spec_for(settings, role)
    return get_backend(spec.backend).build(settings, spec)


def model_display_name(spec: ModelSpec) -> str:
    """A short model name, e.g. ``SmolLM2-135M-Instruct (embedded)``."""
    try:
        return get_backend(spec.backend).display_name(spec)
    except ModelUnavailable:
        return spec.model


def describe_model_source(settings: Settings, role: Role = "default") -> str:
    """Where the role's model loads from: package GGUF, converted checkpoint folder, Hugging Face id or URL."""
    spec = spec_for(settings, role)
    try:
        return get_backend(spec.backend).describe(settings, spec)
    except EditorialError as exc:
        return str(exc)


def check_model(settings: Settings, role: Role = "default") -> tuple[bool, str]:
    """Load (local) or ping (remote) the role's model, for ``doctor``.

    Returns:
        ``(ok, message)``, the message one line long; errors are returned, never raised.
    """
    try:
        spec = spec_for(settings, role)
        return get_backend(spec.backend).check(settings, spec)
    except EditorialError as exc:
        return False, str(exc)
    except Exception as exc:  # doctor must report, not crash
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        return False, f"{type(exc).__name__}: {first}"
