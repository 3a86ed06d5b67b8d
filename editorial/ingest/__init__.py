"""Ingestion: read editors' files, clean and split them, and index the chunks into Chroma incrementally.

Import what you need from here: ``ingest_items``, ``IngestItem``, ``IngestCallbacks``, ``delete_source`` ...
The names load lazily, so the parse worker (:mod:`editorial.ingest.sandbox`) starts without LangChain or Chroma.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "check_consistency": "consistency",
    "check_sources": "consistency",
    "mark_interrupted": "consistency",
    "KIND_BY_SUFFIX": "detect",
    "KIND_LABELS": "detect",
    "SourceBusy": "errors",
    "SourceNotFound": "errors",
    "SourceRejected": "errors",
    "IngestItem": "pipeline",
    "ingest_items": "pipeline",
    "retry_items": "pipeline",
    "Action": "progress",
    "FileOutcome": "progress",
    "IngestCallbacks": "progress",
    "IngestReport": "progress",
    "delete_source": "removal",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'editorial.ingest' has no attribute {name!r}")
    return getattr(importlib.import_module(f"editorial.ingest.{home}"), name)
