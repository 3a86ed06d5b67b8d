"""``doctor`` and ``init``: check and prepare an installation."""

from __future__ import annotations

import argparse

from editorial import sessions
from editorial.doctor import run_checks
from editorial.jobs import queue
from editorial.logs import safe_text
from editorial.settings import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``doctor`` and ``init`` commands."""
    doctor = subparsers.add_parser("doctor", help="check the installation, one line per check")
    doctor.add_argument("--repair", action="store_true", help="also fix what can be fixed (migrations, mismatches)")
    doctor.add_argument("--no-models", action="store_true", help="skip loading the chat models")
    doctor.add_argument(
        "--rotate-session-secret",
        action="store_true",
        help="with --repair: replace the key that signs session cookies (everyone logs in again)",
    )
    doctor.set_defaults(handler=doctor_command)

    init = subparsers.add_parser("init", help="prepare the data folder, database, Chroma and model checkpoint")
    init.add_argument("--skip-models", action="store_true", help="do not convert the embedded model now")
    init.set_defaults(handler=init_command)


def doctor_command(args: argparse.Namespace) -> int:
    """Print one line per check; exit 1 if any failed."""
    if args.rotate_session_secret:
        if not args.repair:
            print("--rotate-session-secret needs --repair (it logs every browser out).")
            return 2
        print(f"rotated the session signing key: {sessions.rotate_secret(get_settings())}", flush=True)
    results = run_checks(get_settings(), repair=args.repair, models=not args.no_models)
    for result in results:
        print(f"{'ok  ' if result.ok else 'FAIL'} {result.name}: {safe_text(result.message, 1000)}", flush=True)
    failed = [r for r in results if not r.ok]
    print(f"{len(results) - len(failed)} ok, {len(failed)} failed")
    return 1 if failed else 0


def init_command(args: argparse.Namespace) -> int:
    """Create the data folder, migrate the database, open Chroma and convert the embedded model once."""
    from editorial.datastore import open_database
    from editorial.vectorstore import chroma_location, get_chroma_client

    settings = get_settings()
    open_database(settings)
    print(f"database ready: {settings.resolved_database_url}")
    print(f"session signing key ready: {sessions.ensure_secret(settings)}")
    get_chroma_client(settings)
    print(f"chroma ready: {chroma_location(settings)}")
    if settings.task_queue == "procrastinate":
        queue.ensure_schema(settings)
        print(f"task queue ready: procrastinate in schema '{queue.SCHEMA}' of the database")
    if not args.skip_models:
        from editorial.errors import ModelUnavailable
        from editorial.llm import spec_for
        from editorial.llm.embedded import ensure_embedded_checkpoint
        from editorial.llm.local_backends import uses_onnx
        from editorial.llm.ort_convert import ensure_ort_model

        specs = [spec_for(settings, role) for role in ("default", "planner", "writer")]
        if any(spec.model == "embedded" and spec.is_local for spec in specs):
            print(f"embedded model ready: {ensure_embedded_checkpoint(settings)}", flush=True)
        if any(spec.backend == "embedded" for spec in specs) and uses_onnx(settings):
            try:  # the fast runtime is built once here; without it the embedded model runs on transformers
                print(
                    f"fast embedded runtime ready: {ensure_ort_model(settings, settings.llm_onnx_variant, print)}",
                    flush=True,
                )
            except ModelUnavailable as exc:
                print(f"fast embedded runtime unavailable, transformers will be used: {exc}", flush=True)
    return 0
