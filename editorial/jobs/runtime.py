"""What a queue worker process holds once: settings, database engine, embeddings and chat models."""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from db.models import User
from db.session import session_scope
from editorial.chain.runner import ChainServices
from editorial.datastore import open_database
from editorial.errors import EditorialError
from editorial.settings import Settings, get_settings

logger = logging.getLogger(__name__)

ServicesFactory = Callable[[Settings, Engine, "str | None"], ChainServices]


def worker_name() -> str:
    """``host:pid`` of this process (stored on the rows it works on)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def load_factory(path: str) -> ServicesFactory:
    """The function named by ``module:function``."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise EditorialError(f"EDITORIAL_WORKER_SERVICES must look like module:function, not {path!r}.")
    return getattr(importlib.import_module(module_name), attribute)


class WorkerRuntime:
    """Heavy objects of one worker process, built on first use and kept for every job."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._embeddings: Any | None = None
        self._models: dict[str, Any] = {}

    @property
    def engine(self) -> Engine:
        """The migrated app database."""
        with self._lock:
            if self._engine is None:
                self._engine = open_database(self.settings)
            return self._engine

    def embeddings(self) -> Any:
        """The embedding model, loaded once."""
        from editorial.embeddings import build_embeddings

        with self._lock:
            if self._embeddings is None:
                self._embeddings = build_embeddings(self.settings)
            return self._embeddings

    def model_for(self, current: Settings, role: str) -> Any:
        """The chat model ``role`` uses under ``current``, loaded once per model spec."""
        from editorial.llm import build_chat_model, spec_for

        spec = spec_for(current, role)
        key = f"{spec.backend}|{spec.model}|{spec.base_url}|{current.torch_dtype}"
        with self._lock:
            if key not in self._models:
                self._models[key] = build_chat_model(current, role=role)
            return self._models[key]

    def services(self, *, chroma_name: str | None, choices: dict[str, Any] | None, user_id: int | None):
        """The run's services: the configured factory, else the models of the run's settings and choices."""
        from editorial import endpoints
        from editorial.chain.models import build_services, preflight

        if self.settings.worker_services:
            return load_factory(self.settings.worker_services)(self.settings, self.engine, chroma_name)
        with session_scope(self.engine) as session:
            actor = session.get(User, user_id) if user_id is not None else None
        current = endpoints.run_settings(self.settings, self.engine, actor=actor, choices=choices)
        preflight(current)
        return build_services(
            current,
            self.engine,
            chroma_name=chroma_name,
            embeddings=self.embeddings() if chroma_name else None,
            model_for=self.model_for,
        )


_runtime: WorkerRuntime | None = None


def runtime() -> WorkerRuntime:
    """This worker process's runtime."""
    global _runtime
    if _runtime is None:
        _runtime = WorkerRuntime()
    return _runtime
