"""Ingestion: read editors' files, clean and split them, and index the chunks into Chroma incrementally.

Import what you need from here: ``ingest_items``, ``IngestItem``, ``IngestCallbacks``, ``delete_source`` ...
"""

from editorial.ingest.consistency import check_consistency, check_sources, mark_interrupted
from editorial.ingest.detect import KIND_BY_SUFFIX, KIND_LABELS
from editorial.ingest.errors import SourceBusy, SourceNotFound, SourceRejected
from editorial.ingest.pipeline import IngestItem, ingest_items, retry_items
from editorial.ingest.progress import Action, FileOutcome, IngestCallbacks, IngestReport
from editorial.ingest.removal import delete_source

__all__ = [
    "KIND_BY_SUFFIX",
    "KIND_LABELS",
    "Action",
    "FileOutcome",
    "IngestCallbacks",
    "IngestItem",
    "IngestReport",
    "SourceBusy",
    "SourceNotFound",
    "SourceRejected",
    "check_consistency",
    "check_sources",
    "delete_source",
    "ingest_items",
    "mark_interrupted",
    "retry_items",
]
