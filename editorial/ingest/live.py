"""Which sources this process is ingesting right now, and one lock per collection so uploads to it run in turn."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_live: set[int] = set()
_collection_locks: dict[int, threading.Lock] = {}


def live_source_ids() -> set[int]:
    """Ids of sources being ingested in this process."""
    with _lock:
        return set(_live)


@contextmanager
def ingesting(source_ids: Iterable[int]) -> Iterator[None]:
    """Mark sources as being ingested by this process for the duration of the block."""
    ids = set(source_ids)
    with _lock:
        _live.update(ids)
    try:
        yield
    finally:
        with _lock:
            _live.difference_update(ids)


def collection_lock(collection_id: int) -> threading.Lock:
    """The lock that serialises ingests into one collection."""
    with _lock:
        return _collection_locks.setdefault(collection_id, threading.Lock())


def collection_busy(collection_id: int) -> bool:
    """Whether an ingest into this collection is running in this process."""
    return collection_lock(collection_id).locked()


def heartbeat_stale(updated_at: datetime, stale_after: timedelta, now: datetime | None = None) -> bool:
    """Whether a heartbeat (``Source.updated_at``) is older than ``stale_after`` (settings.ingest_stale_after)."""
    beat = updated_at if updated_at.tzinfo else updated_at.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - beat > stale_after
