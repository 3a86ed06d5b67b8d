"""Run the database- and vector-store-facing tests on every engine the app supports.

A test module listed in :data:`BOTH_ENGINES` runs each test that uses the database once on SQLite and once on
PostgreSQL (ids ``[sqlite]`` / ``[postgresql]``); a module in :data:`BOTH_VECTOR_STORES` runs once on a Chroma
folder and once on a Chroma server (``[folder]`` / ``[server]``). ``@pytest.mark.sqlite_only`` keeps a test on
SQLite; ``@pytest.mark.single_engine`` keeps a test that is not about the engines on the defaults. The servers
are real and per test session (:mod:`tests.servers`), stopped by PID at the end; each test gets a fresh
PostgreSQL database (copied from a template migrated once) and a fresh Chroma database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from db.migrate import upgrade
from db.session import get_engine, make_engine
from editorial import settings as settings_module
from editorial import vectorstore
from editorial.datastore import forget_migrations
from tests.servers import ChromaServer, PostgresServer

BOTH_ENGINES = frozenset(
    {
        "test_database",
        "test_drafts",
        "test_workflow",
        "test_usage",
        "test_auth",
        "test_review_rules",
        "test_ingest_pipeline",
        "test_export",
        "test_chain_runner",
        "test_engines",
        "test_grounding_store",
    }
)
"""Modules whose database tests run on SQLite and on PostgreSQL: CRUD, drafts/revisions, workflow, ledger,
accounts, ingest consistency, export, runs and groundedness reports."""

BOTH_VECTOR_STORES = frozenset({"test_ingest_pipeline", "test_retrieval", "test_engines"})
"""Modules whose tests run on a Chroma folder and on a Chroma server: ingest, search, delete, re-ingest."""

DATABASE_FIXTURES = frozenset({"engine", "session", "settings", "database_url"})
TEMPLATE = "editorial_template"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every engine for the modules listed above."""
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if not DATABASE_FIXTURES & set(metafunc.fixturenames):
        return
    single = metafunc.definition.get_closest_marker("single_engine") is not None
    if module in BOTH_ENGINES and not single and not metafunc.definition.get_closest_marker("sqlite_only"):
        metafunc.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
    if module in BOTH_VECTOR_STORES and not single:
        metafunc.parametrize("chroma_backend", ["folder", "server"], indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session, with a migrated template database; stopped by PID at the end."""
    server = PostgresServer()
    try:
        server.start()
        template = make_engine(server.create_database(TEMPLATE))
        upgrade(template)
        template.dispose()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """One ``chroma run`` server for the session; stopped by PID at the end."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` unless the test is parametrised with ``postgresql``."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def chroma_backend(request: pytest.FixtureRequest) -> str:
    """``folder`` unless the test is parametrised with ``server``."""
    return getattr(request, "param", "folder")


@pytest.fixture
def database_url(
    db_backend: str,
    chroma_backend: str,
    isolated_data_dir,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[str | None]:
    """The test's database URL (None: the SQLite file in the data folder); also points Chroma at its backend."""
    if chroma_backend == "server":
        chroma: ChromaServer = request.getfixturevalue("chroma_server")
        monkeypatch.setenv("EDITORIAL_CHROMA_HOST", "127.0.0.1")
        monkeypatch.setenv("EDITORIAL_CHROMA_PORT", str(chroma.port))
        monkeypatch.setenv("EDITORIAL_CHROMA_DATABASE", chroma.create_database(f"t_{uuid.uuid4().hex[:16]}"))
        vectorstore._clients.clear()
    url = None
    if db_backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database(f"t_{uuid.uuid4().hex[:16]}", template=TEMPLATE)
        monkeypatch.setenv("EDITORIAL_DATABASE_URL", url)
    settings_module.get_settings.cache_clear()
    forget_migrations()
    yield url
    if url:
        get_engine(url).dispose()
