"""Fixtures for the task-queue tests: a fresh PostgreSQL database and Chroma database, workers by PID."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.session import get_engine
from editorial import settings as settings_module
from editorial import vectorstore
from editorial.datastore import forget_migrations, open_database
from editorial.jobs import queue
from tests.engines import TEMPLATE
from tests.queue.processes import Processes
from tests.servers import ChromaServer, PostgresServer


@pytest.fixture
def queue_env(
    postgres_server: PostgresServer,
    chroma_server: ChromaServer,
    isolated_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, str]]:
    """Settings of a team set-up (PostgreSQL, Chroma server, procrastinate) for this process and its children."""
    url = postgres_server.create_database(f"q_{uuid.uuid4().hex[:16]}", template=TEMPLATE)
    env = {
        "EDITORIAL_DATA_DIR": str(isolated_data_dir),
        "EDITORIAL_DATABASE_URL": url,
        "EDITORIAL_TASK_QUEUE": "procrastinate",
        "EDITORIAL_CHROMA_HOST": "127.0.0.1",
        "EDITORIAL_CHROMA_PORT": str(chroma_server.port),
        "EDITORIAL_CHROMA_DATABASE": chroma_server.create_database(f"q_{uuid.uuid4().hex[:16]}"),
        "EDITORIAL_WORKER_SERVICES": "tests.queue.fakes:build",
        "EDITORIAL_RUN_HEARTBEAT_S": "0.5",
        "EDITORIAL_RUN_STALE_AFTER_S": "4",
        "EDITORIAL_FAKE_CHUNK_DELAY_S": "0.02",
        "ANONYMIZED_TELEMETRY": "False",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings_module.get_settings.cache_clear()
    forget_migrations()
    vectorstore._clients.clear()
    yield env
    queue.close_clients()
    get_engine(url).dispose()
    vectorstore._clients.clear()


@pytest.fixture
def queue_settings(queue_env: dict[str, str]) -> settings_module.Settings:
    """The settings of the team set-up."""
    return settings_module.get_settings()


@pytest.fixture
def queue_engine(queue_settings: settings_module.Settings):
    """The migrated PostgreSQL database of the team set-up."""
    return open_database(queue_settings)


@pytest.fixture
def processes(queue_env: dict[str, str], tmp_path: Path) -> Iterator[Processes]:
    """Start workers and app replicas; every one is stopped by PID at the end, pass or fail."""
    started = Processes(queue_env, tmp_path / "processes")
    try:
        yield started
    finally:
        started.stop_all()
