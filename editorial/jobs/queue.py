"""The procrastinate queue on the app's PostgreSQL: its schema, the task names, deferring jobs.

procrastinate keeps its tables, functions and job notifications in the same PostgreSQL as the app (in a
schema of its own, ``procrastinate``), so a team set-up needs no broker beside the database it has.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import procrastinate
import psycopg
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import make_url

from editorial.errors import EditorialError
from editorial.settings import Settings

logger = logging.getLogger(__name__)

SCHEMA = "procrastinate"
RUN_TASK, INGEST_TASK, RECOVER_TASK = "editorial.run", "editorial.ingest", "editorial.recover"
RUNS_QUEUE, INGEST_QUEUE = "runs", "ingest"
_SCHEMA_LOCK = 7_305_022_600  # any constant: serialises schema creation between processes

_lock = threading.Lock()
_clients: dict[str, procrastinate.App] = {}


class QueueUnavailable(EditorialError):
    """The task queue cannot be used (wrong database, or it does not answer)."""


def conninfo(settings: Settings) -> str:
    """The libpq connection string of the app database, with procrastinate's schema first on the search path."""
    url = make_url(settings.resolved_database_url)
    if not url.drivername.startswith("postgresql"):
        raise QueueUnavailable(
            "EDITORIAL_TASK_QUEUE=procrastinate needs a PostgreSQL database (EDITORIAL_DATABASE_URL=postgresql+psycopg://…)."
        )
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    separator = "&" if "?" in plain else "?"
    return f"{plain}{separator}options=-csearch_path%3D{SCHEMA}"


def ensure_schema(settings: Settings) -> None:
    """Create procrastinate's schema once (safe when several processes start together)."""
    try:
        with psycopg.connect(conninfo(settings)) as connection:
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            found = connection.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.procrastinate_jobs",)).fetchone()
            if found is None or found[0] is None:
                connection.execute(SchemaManager.get_schema())  # type: ignore[arg-type]
                logger.info("created the procrastinate schema")
    except psycopg.Error as exc:
        raise QueueUnavailable(f"The task queue's database does not answer: {str(exc).splitlines()[0]}") from exc


def build_app(connector: Any, settings: Settings) -> procrastinate.App:
    """A procrastinate app on ``connector`` with the editorial tasks registered (workers import them lazily)."""
    from editorial.jobs import recovery, tasks

    app = procrastinate.App(connector=connector)
    app.task(name=RUN_TASK, queue=RUNS_QUEUE, pass_context=False)(tasks.run_task)
    app.task(name=INGEST_TASK, queue=INGEST_QUEUE, pass_context=False)(tasks.ingest_task)
    app.periodic(cron=recovery.cron(settings.worker_recovery_s))(
        app.task(name=RECOVER_TASK, queue=RUNS_QUEUE, pass_context=True, queueing_lock=RECOVER_TASK)(recovery.recover)
    )
    return app


def client(settings: Settings) -> procrastinate.App:
    """This process's opened app for deferring jobs (one synchronous connection pool per database)."""
    key = settings.resolved_database_url
    with _lock:
        app = _clients.get(key)
        if app is None:
            ensure_schema(settings)
            connector = procrastinate.SyncPsycopgConnector(conninfo=conninfo(settings), min_size=1, max_size=4)
            app = build_app(connector, settings)
            app.open()
            _clients[key] = app
        return app


def defer(settings: Settings, task: str, **arguments: Any) -> int:
    """Queue one job of ``task`` with ``arguments``; return its job id."""
    try:
        return client(settings).configure_task(task).defer(**arguments)
    except QueueUnavailable:
        raise
    except Exception as exc:  # the queue's database refused: one line for people, the traceback in the log
        logger.exception("deferring %s failed", task)
        raise QueueUnavailable(f"The task queue refused the job: {type(exc).__name__}: {exc}") from exc


def close_clients() -> None:
    """Close every deferring pool of this process (tests, shutdown)."""
    with _lock:
        for app in _clients.values():
            app.close()
        _clients.clear()
