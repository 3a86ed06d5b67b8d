"""Prepare and open the data folder and the database (migrated to the latest schema)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from db.migrate import upgrade
from db.session import get_engine
from editorial.errors import DatabaseError, DataFolderError
from editorial.logs import configure_logging
from editorial.private import private_dir, private_file
from editorial.settings import Settings

_migrated: set[str] = set()
_lock = threading.Lock()


def ensure_data_dir(settings: Settings) -> None:
    """Create the data folder (0700) and its sub-folders; raise :class:`DataFolderError` if not writable."""
    folder = settings.resolved_data_dir
    try:
        private_dir(folder)
        settings.models_dir.mkdir(parents=True, exist_ok=True)
        if not settings.chroma_host:
            settings.resolved_chroma_path.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise DataFolderError(f"The data folder {folder} is not writable: {exc.strerror or exc}.") from exc


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file 0600 before SQLite does (it would follow the umask); its -wal/-shm files copy that."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            private_file(Path(database).expanduser().resolve())
        except OSError as exc:
            raise DataFolderError(f"The database file {database} cannot be created: {exc.strerror or exc}.") from exc


def open_database(settings: Settings) -> Engine:
    """The engine for the configured database, migrated to the latest revision once per process."""
    url = settings.resolved_database_url
    if url.startswith("sqlite") and ":memory:" not in url and url != "sqlite://":
        ensure_data_dir(settings)
        _private_sqlite_file(url)
    if settings.resolved_data_dir.is_dir():
        configure_logging(settings)
    engine = get_engine(url)
    with _lock:
        if url not in _migrated:
            try:
                upgrade(engine)
            except Exception as exc:
                raise DatabaseError(
                    f"The database {engine.url!r} could not be migrated: {exc}".splitlines()[0]
                ) from exc
            _migrated.add(url)
    return engine


def forget_migrations() -> None:
    """Let the next :func:`open_database` migrate again (tests use fresh databases)."""
    with _lock:
        _migrated.clear()
