"""Wait on what the app records (a run's status, a source's status, a ledger row) rather than on the clock.

A browser test that waits for a model to finish waits here, on the app's own database, under a generous scaled
limit; the page is then expected to show the result within a short limit. If the app process dies, or the run
fails, the wait ends at once with the reason instead of running out the clock.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.timing import scaled, wait_until

# Limits on a quiet 2-core machine, before EDITORIAL_TEST_TIME_SCALE: generous, never the expected duration.
INGEST_LIMIT_S = 600.0
RUN_LIMIT_S = 1500.0
PAGE_CATCH_UP_MS = 60_000
"""How long the page may take to show what the database already records (the run panel polls each second)."""


def page_catch_up_ms() -> float:
    """The scaled limit, in milliseconds, for a page to show a result the app has already recorded."""
    return scaled(PAGE_CATCH_UP_MS)


def query(data_dir: Path, sql: str, *args) -> list[tuple]:
    """Read the app's SQLite database directly."""
    with sqlite3.connect(data_dir / "editorial.db", timeout=30) as db:
        return db.execute(sql, args).fetchall()


def _check_alive(server) -> None:
    if server is not None and server.process.poll() is not None:
        raise AssertionError(f"the app exited (code {server.process.returncode}); see {server.log}")


def wait_for_rows(data_dir: Path, sql: str, *args, what: str, limit_s: float, server=None) -> list[tuple]:
    """Wait until ``sql`` returns rows; fail at once if ``server`` (an ``AppServer``) has exited."""

    def rows() -> list[tuple]:
        _check_alive(server)
        return query(data_dir, sql, *args)

    return wait_until(rows, timeout=scaled(limit_s), what=what, max_interval=0.5)


def wait_for_run_end(data_dir: Path, run_id: int, *, server=None, limit_s: float = RUN_LIMIT_S) -> tuple[str, str]:
    """Wait until run ``run_id`` is no longer RUNNING; return ``(status, error)``."""
    [(status, error)] = wait_for_rows(
        data_dir,
        "SELECT status, coalesce(error, '') FROM run WHERE id = ? AND status != 'RUNNING'",
        run_id,
        what=f"run {run_id} to end",
        limit_s=limit_s,
        server=server,
    )
    return status, error


def wait_for_new_run(data_dir: Path, after_id: int, *, server=None) -> int:
    """Wait until a run newer than ``after_id`` is recorded (a click started it); return its id."""
    [(run_id,)] = wait_for_rows(
        data_dir, "SELECT max(id) FROM run WHERE id > ? HAVING max(id) IS NOT NULL", after_id,
        what=f"a run after #{after_id} to be recorded", limit_s=300, server=server,
    )  # fmt: skip
    return run_id


def last_run_id(data_dir: Path) -> int:
    """The newest run's id (0 when there is none)."""
    return query(data_dir, "SELECT coalesce(max(id), 0) FROM run")[0][0]


def wait_for_run(data_dir: Path, after_id: int, *, server=None, limit_s: float = RUN_LIMIT_S) -> int:
    """Wait for the run a click started (newer than ``after_id``) to succeed; return its id.

    Fails at once, with the run's recorded error, if it failed or was cancelled.
    """
    run_id = wait_for_new_run(data_dir, after_id, server=server)
    status, error = wait_for_run_end(data_dir, run_id, server=server, limit_s=limit_s)
    assert status == "SUCCEEDED", f"run {run_id} ended {status}: {error}"
    return run_id


def wait_for_ingest_end(
    data_dir: Path, names: list[str], *, server=None, limit_s: float = INGEST_LIMIT_S
) -> dict[str, str]:
    """Wait until every source in ``names`` is recorded and neither PENDING nor INGESTING; return their statuses."""
    wanted = set(names)

    def settled() -> dict[str, str]:
        _check_alive(server)
        rows = dict(query(data_dir, "SELECT name, status FROM source"))
        done = {name: rows[name] for name in wanted if rows.get(name) not in (None, "PENDING", "INGESTING")}
        return done if len(done) == len(wanted) else {}

    return wait_until(
        settled, timeout=scaled(limit_s), what=f"the ingest of {sorted(wanted)} to finish", max_interval=0.5
    )
