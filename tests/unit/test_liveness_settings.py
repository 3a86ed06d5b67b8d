"""Heartbeat intervals and stale limits of runs and ingests are settings (tests and slow machines tune them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import update

from db.crud import runs as run_crud
from db.models import Run, RunKind, RunStatus, Source, SourceStatus, utcnow
from db.session import session_scope
from editorial.collections import create_collection
from editorial.ingest import IngestItem, ingest_items
from editorial.ingest.consistency import check_consistency
from editorial.ingest.live import heartbeat_stale
from editorial.settings import Settings, get_settings
from tests.timing import scaled, wait_until


def test_defaults_keep_the_documented_limits():
    settings = Settings(_env_file=None)
    assert (settings.run_heartbeat_s, settings.run_stale_after_s) == (15.0, 90.0)
    assert (settings.ingest_heartbeat_s, settings.ingest_stale_after_s) == (5.0, 60.0)
    assert settings.run_stale_after == timedelta(seconds=90)
    assert settings.ingest_stale_after == timedelta(seconds=60)


def test_the_environment_sets_them(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("EDITORIAL_RUN_HEARTBEAT_S", "0.5")
    monkeypatch.setenv("EDITORIAL_RUN_STALE_AFTER_S", "3")
    monkeypatch.setenv("EDITORIAL_INGEST_HEARTBEAT_S", "0.25")
    monkeypatch.setenv("EDITORIAL_INGEST_STALE_AFTER_S", "2")
    settings = Settings()
    assert settings.run_stale_after == timedelta(seconds=3) and settings.run_heartbeat_s == 0.5
    assert settings.ingest_stale_after == timedelta(seconds=2) and settings.ingest_heartbeat_s == 0.25


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"EDITORIAL_RUN_HEARTBEAT_S": "10", "EDITORIAL_RUN_STALE_AFTER_S": "15"}, "EDITORIAL_RUN_STALE_AFTER_S"),
        ({"EDITORIAL_INGEST_STALE_AFTER_S": "6"}, "EDITORIAL_INGEST_STALE_AFTER_S"),
        ({"EDITORIAL_RUN_HEARTBEAT_S": "0"}, "run_heartbeat_s"),
        ({"EDITORIAL_INGEST_STALE_AFTER_S": "-1"}, "ingest_stale_after_s"),
    ],
)
def test_limits_that_would_kill_live_work_are_refused(monkeypatch: pytest.MonkeyPatch, variables, named):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=named):
        Settings()


def test_doctor_takes_the_run_stale_limit_from_settings(monkeypatch: pytest.MonkeyPatch, engine):
    from editorial.doctor import check_runs

    with session_scope(engine) as session:
        run = run_crud.create_run(session=session, kind=RunKind.WRITE)
        run.heartbeat_at = utcnow() - timedelta(seconds=20)
    assert check_runs(get_settings(), False).ok  # 20 s of silence is fine under the 90 s default
    monkeypatch.setenv("EDITORIAL_RUN_HEARTBEAT_S", "1")
    monkeypatch.setenv("EDITORIAL_RUN_STALE_AFTER_S", "5")
    get_settings.cache_clear()
    short = get_settings()
    assert f"ids {run.id}" in check_runs(short, False).message
    assert check_runs(short, True).ok
    with session_scope(engine) as session:
        assert session.get(Run, run.id).status == RunStatus.FAILED


def test_a_run_beats_at_the_configured_interval(engine):
    from editorial.chain.runner import _Heartbeat

    with session_scope(engine) as session:
        run = run_crud.create_run(session=session, kind=RunKind.WRITE)
        run.heartbeat_at = old = utcnow() - timedelta(minutes=10)
        run_id = run.id

    def beaten() -> bool:
        with session_scope(engine) as session:
            beat = session.get(Run, run_id).heartbeat_at
        return (beat if beat.tzinfo else beat.replace(tzinfo=UTC)) > old + timedelta(minutes=5)

    with _Heartbeat(engine, run_id, interval=0.05):
        wait_until(beaten, timeout=scaled(10), what="the run's heartbeat to be refreshed")


def test_ingest_staleness_follows_the_setting(monkeypatch: pytest.MonkeyPatch, engine, fake_embeddings):
    five_seconds_ago = datetime.now(UTC) - timedelta(seconds=5)
    assert not heartbeat_stale(five_seconds_ago, Settings(_env_file=None).ingest_stale_after)
    assert heartbeat_stale(five_seconds_ago, timedelta(seconds=2))

    settings = get_settings()
    collection = create_collection(engine, name="Liveness")
    ingest_items(
        settings, engine, fake_embeddings, collection_id=collection.id, items=[IngestItem("a.md", b"# A\n\nSome text.")]
    )
    with session_scope(engine) as session:
        session.execute(update(Source).values(status=SourceStatus.INGESTING, updated_at=five_seconds_ago))
    assert check_consistency(settings, engine).interrupted == []  # under the 60 s default: still live
    monkeypatch.setenv("EDITORIAL_INGEST_HEARTBEAT_S", "0.5")
    monkeypatch.setenv("EDITORIAL_INGEST_STALE_AFTER_S", "2")
    get_settings.cache_clear()
    assert check_consistency(get_settings(), engine).interrupted == ["a.md"]
