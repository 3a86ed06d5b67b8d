"""Keep each source's original bytes in the data folder, so a failed or interrupted ingest can be retried."""

from __future__ import annotations

from pathlib import Path

from editorial.private import write_private
from editorial.settings import Settings


def originals_dir(settings: Settings) -> Path:
    """The folder of stored originals."""
    return settings.resolved_data_dir / "sources"


def original_path(settings: Settings, source_key: str) -> Path:
    """Where the original of one source is kept."""
    return originals_dir(settings) / source_key


def save_original(settings: Settings, source_key: str, data: bytes) -> None:
    """Store the original bytes atomically, readable by the owner only (0600 in a 0700 folder)."""
    write_private(original_path(settings, source_key), data)


def load_original(settings: Settings, source_key: str) -> bytes | None:
    """The stored original, or None if it is gone."""
    path = original_path(settings, source_key)
    return path.read_bytes() if path.is_file() else None


def remove_original(settings: Settings, source_key: str) -> None:
    """Forget the stored original (if any)."""
    original_path(settings, source_key).unlink(missing_ok=True)
