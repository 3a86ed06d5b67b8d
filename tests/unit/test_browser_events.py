"""The browser tests' event waits: on the app's database, ending at once when the run failed or the app died."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.browser.events import last_run_id, wait_for_ingest_end, wait_for_rows, wait_for_run
from tests.timing import WaitTimeout


@pytest.fixture
def app_db(tmp_path: Path) -> Path:
    with sqlite3.connect(tmp_path / "editorial.db") as db:
        db.execute("CREATE TABLE run (id INTEGER PRIMARY KEY, status TEXT, error TEXT)")
        db.execute("CREATE TABLE source (id INTEGER PRIMARY KEY, name TEXT, status TEXT)")
    return tmp_path


def _execute(data_dir: Path, sql: str, *args) -> None:
    with sqlite3.connect(data_dir / "editorial.db") as db:
        db.execute(sql, args)


def _later(seconds: float, action) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()))
    thread.start()
    return thread


def test_wait_for_run_returns_when_the_started_run_succeeds(app_db: Path):
    _execute(app_db, "INSERT INTO run (status) VALUES ('SUCCEEDED')")
    before = last_run_id(app_db)
    _execute(app_db, "INSERT INTO run (status) VALUES ('RUNNING')")
    worker = _later(0.3, lambda: _execute(app_db, "UPDATE run SET status = 'SUCCEEDED' WHERE id = 2"))
    assert wait_for_run(app_db, before) == 2
    worker.join()


def test_a_failed_run_ends_the_wait_at_once_with_its_error(app_db: Path):
    _execute(app_db, "INSERT INTO run (status, error) VALUES ('FAILED', 'Model unavailable: no weights')")
    started = time.monotonic()
    with pytest.raises(AssertionError, match="run 1 ended FAILED: Model unavailable: no weights"):
        wait_for_run(app_db, 0)
    assert time.monotonic() - started < 5


def test_a_dead_app_ends_the_wait_at_once(app_db: Path, tmp_path: Path):
    dead = SimpleNamespace(process=SimpleNamespace(poll=lambda: -9, returncode=-9), log=tmp_path / "app.log")
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"the app exited \(code -9\)"):
        wait_for_rows(app_db, "SELECT 1 FROM run", what="a run", limit_s=600, server=dead)
    assert time.monotonic() - started < 5


def test_ingest_waits_for_every_named_source_to_settle(app_db: Path):
    _execute(app_db, "INSERT INTO source (name, status) VALUES ('a.md', 'READY')")  # an earlier upload
    worker = _later(
        0.3,
        lambda: (
            _execute(app_db, "INSERT INTO source (name, status) VALUES ('b.md', 'INGESTING')"),
            time.sleep(0.3),
            _execute(app_db, "UPDATE source SET status = 'FAILED' WHERE name = 'b.md'"),
        ),
    )
    assert wait_for_ingest_end(app_db, ["a.md", "b.md"]) == {"a.md": "READY", "b.md": "FAILED"}
    worker.join()


def test_a_wait_that_runs_out_names_what_it_waited_for(app_db: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("EDITORIAL_TEST_TIME_SCALE", "0.001")
    with pytest.raises(WaitTimeout, match=r"waiting for the ingest of \['c.md'\] to finish"):
        wait_for_ingest_end(app_db, ["c.md"], limit_s=300)
