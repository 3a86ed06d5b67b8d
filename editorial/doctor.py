"""Installation checks, one line each; shared by ``python -m editorial doctor`` and the Settings page."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform

from db.migrate import current_revision, head_revision
from db.session import get_engine, session_scope
from editorial import sessions
from editorial.auth import accounts_summary
from editorial.chain.runner import stale_runs_report
from editorial.checks import Check, CheckResult
from editorial.datastore import ensure_data_dir, open_database
from editorial.embeddings import build_embeddings, embedding_display_name
from editorial.errors import EditorialError
from editorial.ingest.consistency import check_sources
from editorial.llm import check_model, spec_for
from editorial.logs import log_path
from editorial.settings import Settings
from editorial.vectorstore import chroma_location, get_chroma_client

__all__ = ["CHECKS", "Check", "CheckResult", "check_sources", "model_checks", "run_checks"]

logger = logging.getLogger(__name__)

PACKAGES = (
    "torch",
    "transformers",
    "langchain",
    "langchain-core",
    "langchain-huggingface",
    "chromadb",
    "streamlit",
    "sqlmodel",
    "sentence-transformers",
)


def check_versions(settings: Settings, repair: bool) -> CheckResult:
    """Report Python and key package versions; fail if one is missing."""
    parts, missing = [f"python {platform.python_version()}"], []
    for name in PACKAGES:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return CheckResult("versions", False, f"missing packages: {', '.join(missing)}")
    return CheckResult("versions", True, ", ".join(parts))


def check_data_dir(settings: Settings, repair: bool) -> CheckResult:
    """The data folder exists (or can be created) and is writable."""
    ensure_data_dir(settings)
    return CheckResult("data folder", True, f"{settings.resolved_data_dir} is writable")


def check_database(settings: Settings, repair: bool) -> CheckResult:
    """The database opens and is at the latest migration (``repair`` migrates it)."""
    engine = get_engine(settings.resolved_database_url)
    if repair:
        engine = open_database(settings)
    current, head = current_revision(engine), head_revision()
    where = engine.url.render_as_string(hide_password=True)
    if current != head:
        return CheckResult("database", False, f"{where} is at migration {current}, latest is {head} (run init)")
    return CheckResult("database", True, f"{where} at the latest migration {head}")


def check_chroma(settings: Settings, repair: bool) -> CheckResult:
    """Chroma (folder or server) is reachable."""
    client = get_chroma_client(settings)
    return CheckResult(
        "chroma", True, f"{chroma_location(settings)} reachable, {len(client.list_collections())} collections"
    )


def check_embeddings(settings: Settings, repair: bool) -> CheckResult:
    """The embedding model loads and embeds a sentence."""
    vector = build_embeddings(settings).embed_query("Editorial Desk doctor check")
    return CheckResult("embedding model", True, f"{embedding_display_name(settings)} loads ({len(vector)} dimensions)")


def _model_check(role: str) -> Check:
    def check(settings: Settings, repair: bool) -> CheckResult:
        ok, message = check_model(settings, role)
        return CheckResult(f"{role} model", ok, message)

    check.__doc__ = f"The {role} chat model is found and loadable."
    return check


def model_checks(settings: Settings) -> list[Check]:
    """One check per distinct chat model (default, and planner/writer when they differ)."""
    checks, seen = [], set()
    for role in ("default", "planner", "writer"):
        spec = spec_for(settings, role)
        key = (spec.backend, spec.model, spec.base_url)
        if key not in seen:
            seen.add(key)
            checks.append(_model_check(role))
    return checks


CHECKS: list[Check] = [check_versions, check_data_dir, check_database, check_chroma, check_embeddings]
"""Checks run in order; later capabilities append their own (e.g. source/Chroma consistency)."""


CHECKS.append(check_sources)


def check_accounts(settings: Settings, repair: bool) -> CheckResult:
    """At least one active admin exists once accounts exist."""
    with session_scope(open_database(settings)) as session:
        ok, message = accounts_summary(session=session)
    return CheckResult("accounts", ok, message)


CHECKS.append(check_accounts)


def check_runs(settings: Settings, repair: bool) -> CheckResult:
    """No plan/write run is left 'running' by a process that died (``repair`` marks such runs failed)."""
    ok, message = stale_runs_report(open_database(settings), repair=repair, stale_after=settings.run_stale_after)
    return CheckResult("runs", ok, message)


CHECKS.append(check_runs)


def check_session_secret(settings: Settings, repair: bool) -> CheckResult:
    """The key that signs session cookies exists and only its owner can read it (``repair`` fixes both)."""
    problem = sessions.secret_problem(settings)
    if problem and repair:
        path = settings.session_secret_path
        if path.exists() and "short" in problem:
            sessions.rotate_secret(settings)
        sessions.ensure_secret(settings).chmod(0o600)
        problem = sessions.secret_problem(settings)
    if problem:
        return CheckResult("session secret", False, problem)
    return CheckResult("session secret", True, f"{settings.session_secret_path} (mode 600)")


CHECKS.append(check_session_secret)


def check_log(settings: Settings, repair: bool) -> CheckResult:
    """Where the log file is (tracebacks of background failures go there), and whether it can be written."""
    path = log_path(settings)
    if path.exists() and not os.access(path, os.W_OK):
        return CheckResult("log", False, f"{path} is not writable")
    if not path.exists() and not os.access(settings.resolved_data_dir, os.W_OK):
        return CheckResult("log", False, f"{path} cannot be created (the data folder is not writable)")
    size = f", {path.stat().st_size / 1024:.0f} KB" if path.exists() else " (not written yet)"
    return CheckResult("log", True, f"tracebacks of background failures: {path}{size}")


CHECKS.append(check_log)


def run_checks(settings: Settings, *, repair: bool = False, models: bool = True) -> list[CheckResult]:
    """Run every check; an exception becomes a failed check with a one-line message."""
    checks = list(CHECKS) + (model_checks(settings) if models else [])
    results = []
    for check in checks:
        name = (check.__name__ or "check").removeprefix("check_").replace("_", " ")
        try:
            results.append(check(settings, repair))
        except EditorialError as exc:
            results.append(CheckResult(name, False, str(exc)))
        except Exception as exc:  # a check must never crash doctor; the log keeps the traceback
            logger.exception("doctor check %s failed", name)
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            results.append(CheckResult(name, False, f"{type(exc).__name__}: {first_line}"))
    return results
