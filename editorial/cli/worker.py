"""``worker``: run a task-queue worker that executes writing runs and ingests (EDITORIAL_TASK_QUEUE=procrastinate)."""

from __future__ import annotations

import argparse
import logging

import procrastinate

from editorial.jobs import queue
from editorial.jobs.runtime import runtime, worker_name
from editorial.settings import get_settings

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``worker`` command."""
    parser = subparsers.add_parser("worker", help="run a task-queue worker (writing runs and ingests)")
    parser.add_argument(
        "--queues",
        default=f"{queue.RUNS_QUEUE},{queue.INGEST_QUEUE}",
        help="comma-separated queues to take jobs from (default: %(default)s)",
    )
    parser.add_argument("--concurrency", type=int, default=None, help="jobs at once (default: the setting, 1)")
    parser.set_defaults(handler=worker_command)


def worker_command(args: argparse.Namespace) -> int:
    """Serve jobs until interrupted (SIGINT/SIGTERM finish the current job's step and stop)."""
    settings = get_settings()
    queue.ensure_schema(settings)
    runtime().engine  # migrate and connect before the first job  # noqa: B018
    app = queue.build_app(procrastinate.PsycopgConnector(conninfo=queue.conninfo(settings)), settings)
    queues = [name.strip() for name in args.queues.split(",") if name.strip()]
    concurrency = args.concurrency or settings.worker_concurrency
    print(f"worker {worker_name()} serving queues {', '.join(queues)} with concurrency {concurrency}", flush=True)
    app.run_worker(
        queues=queues,
        concurrency=concurrency,
        name=worker_name(),
        delete_jobs="successful",
        update_heartbeat_interval=max(1.0, settings.worker_stalled_after_s / 6),
        stalled_worker_timeout=settings.worker_stalled_after_s,
        install_signal_handlers=True,
    )
    return 0
