"""Shared fixtures: every test gets its own data folder; fakes for fast unit tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from editorial import settings as settings_module
from editorial import vectorstore
from editorial.datastore import forget_migrations
from tests.timing import scaled

REPO_ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.engines"]  # every database/vector-store engine: PostgreSQL and Chroma server fixtures


QUARANTINED: dict[str, str] = {}
"""Tests skipped until they are repaired (issue notes, session 2): each was broken or never seen passing after the
merges; ``EDITORIAL_RUN_QUARANTINED=1 make test`` runs them. This list must shrink to empty, not grow."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the quarantined tests; scale the per-test hang guard (pytest-timeout) by EDITORIAL_TEST_TIME_SCALE."""
    if os.environ.get("EDITORIAL_RUN_QUARANTINED") != "1":
        for item in items:
            reason = next((why for prefix, why in QUARANTINED.items() if item.nodeid.startswith(prefix)), None)
            if reason:
                item.add_marker(pytest.mark.skip(reason=f"quarantined: {reason} (EDITORIAL_RUN_QUARANTINED=1 runs it)"))
    base = config.getoption("timeout", None) or config.getini("timeout")
    if not base or float(base) <= 0:
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(scaled(float(base))))


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the data folder at a temp dir; share the converted model cache when the harness gives one."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("EDITORIAL_DATA_DIR", str(data_dir))
    monkeypatch.delenv("EDITORIAL_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = os.environ.get("EDITORIAL_TEST_MODEL_CACHE")
    monkeypatch.setenv("EDITORIAL_MODEL_CACHE_DIR", cache or str(tmp_path / "models"))
    monkeypatch.chdir(tmp_path)  # no stray .env from the repo
    settings_module.get_settings.cache_clear()
    forget_migrations()
    vectorstore._clients.clear()
    yield data_dir
    settings_module.get_settings.cache_clear()
    vectorstore._clients.clear()


@pytest.fixture
def settings(isolated_data_dir: Path, database_url: str | None) -> settings_module.Settings:
    """Settings for the isolated data folder (and the test's database)."""
    return settings_module.get_settings()


@pytest.fixture
def engine(settings: settings_module.Settings) -> Engine:
    """The test's migrated database: a SQLite file in the temp data folder, or a fresh PostgreSQL database."""
    from editorial.datastore import open_database

    return open_database(settings)


@pytest.fixture
def session(engine: Engine):
    """A session on the migrated temp database (committed on exit)."""
    from db.session import session_scope

    with session_scope(engine) as db_session:
        yield db_session


@pytest.fixture
def fake_embeddings():
    """LangChain's deterministic fake embeddings (fast unit tests only)."""
    from langchain_core.embeddings import DeterministicFakeEmbedding

    return DeterministicFakeEmbedding(size=64)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright, one per session for every test folder that drives a browser
    (Playwright's sync API allows one running instance per thread, so the fixture lives here, not per folder)."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium).")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
