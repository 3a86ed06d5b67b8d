"""Which chat model a role uses (:class:`ModelSpec`) and what a backend module provides (:class:`Backend`).

Kept free of torch and LangChain imports so that settings pages, ``doctor`` and unit tests stay fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr

from editorial.keys import key_for_url
from editorial.settings import EMBEDDED, Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

Role = Literal["default", "planner", "writer"]
ROLES: tuple[Role, ...] = ("default", "planner", "writer")
LOCAL_BACKENDS = frozenset({"embedded", "transformers"})


@dataclass(frozen=True)
class ModelSpec:
    """A chat model to build: backend name, model id/folder/served name, endpoint URL and key (remote only)."""

    backend: str
    model: str
    base_url: str | None = None
    api_key: SecretStr | None = field(default=None, repr=False, compare=False)

    @property
    def is_local(self) -> bool:
        """True for backends that run in this process (embedded, transformers)."""
        return self.backend in LOCAL_BACKENDS


@dataclass(frozen=True)
class Backend:
    """What a backend module provides to the dispatcher in ``editorial.llm``.

    Attributes:
        build: Make the LangChain chat model; raise ``ModelUnavailable`` / ``BackendUnreachable`` on failure.
        describe: One line telling where the model loads from (package GGUF, folder, hub id, URL).
        check: Load or ping the model for ``doctor``; return ``(ok, one-line message)``.
        display_name: A short model name for pages and the usage ledger.
    """

    build: Callable[[Settings, ModelSpec], BaseChatModel]
    describe: Callable[[Settings, ModelSpec], str]
    check: Callable[[Settings, ModelSpec], tuple[bool, str]]
    display_name: Callable[[ModelSpec], str] = lambda spec: spec.model


def _blank_to_none(value: str | None) -> str | None:
    return value if value and value.strip() else None


def spec_for(settings: Settings, role: Role = "default") -> ModelSpec:
    """The model a role uses: its ``planner_*`` / ``writer_*`` overrides, falling back to the ``llm_*`` settings.

    The embedded backend always means the bundled model; ``transformers`` with the model name ``embedded`` is the
    same model on the transformers path. A remote endpoint gets only the key configured for its own URL
    (:func:`editorial.keys.key_for_url`).

    Raises:
        ValueError: ``role`` is not one of default, planner, writer.
    """
    if role not in ROLES:
        raise ValueError(f"Unknown model role '{role}': use one of {', '.join(ROLES)}.")
    prefix = None if role == "default" else role
    backend = (_blank_to_none(getattr(settings, f"{prefix}_backend")) if prefix else None) or settings.llm_backend
    model = (_blank_to_none(getattr(settings, f"{prefix}_model")) if prefix else None) or settings.llm_model
    base_url = (_blank_to_none(getattr(settings, f"{prefix}_base_url")) if prefix else None) or settings.llm_base_url
    model = model.strip()
    if backend == "embedded":
        return ModelSpec(backend="embedded", model=EMBEDDED)
    if backend == "transformers" and model == EMBEDDED:
        return ModelSpec(backend="transformers", model=EMBEDDED)
    if backend in LOCAL_BACKENDS:
        base_url = None
    return ModelSpec(backend=backend, model=model, base_url=base_url, api_key=key_for_url(settings, base_url))
