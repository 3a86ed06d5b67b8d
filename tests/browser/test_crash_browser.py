"""Crash and restart: SIGKILL the app during an ingest, then during a writing run; restart on the same data folder.

Afterwards the database and Chroma agree (``python -m editorial doctor``), the interrupted ingest and run show as
failed — the run keeps its finished calls in the ledger — and both can be retried or resumed in the browser.
A dead process is recognised by its heartbeat going stale (60 s for ingests, 90 s for runs), so the test waits
for that once, after the second kill.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.browser.conftest import REPO_ROOT, screenshot, start_app, wait_for_app
from tests.browser.seed import password, seed_people
from tests.browser.ui import click, fill, go, login, main_text, new_page, open_tab, select, upload, wait_for_text

pytestmark = pytest.mark.browser

CORPUS = REPO_ROOT / "bench" / "corpus" / "rag"
RUN_STALE_S = 90
INGEST_STALE_S = 60


def _query(data_dir: Path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(data_dir / "editorial.db", timeout=30) as db:
        return db.execute(sql, args).fetchall()


def _wait_until(condition, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def _big_markdown(path: Path) -> Path:
    """A long, varied Markdown file (several hundred chunks) so that its ingest takes a while."""
    topics = ["retention", "replay", "offsets", "partitions", "consumers", "producers", "compaction", "latency"]
    sections = []
    for number in range(240):
        topic = topics[number % len(topics)]
        sentences = " ".join(
            f"Note {number}.{line}: the {topic} of stream {number * 7 + line} depends on setting {line * 13 + number}."
            for line in range(12)
        )
        sections.append(f"## Part {number} on {topic}\n\n{sentences}\n")
    path.write_text("# A very long queue manual\n\n" + "\n".join(sections), encoding="utf-8")
    return path


def _doctor(data_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "EDITORIAL_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    if os.environ.get("EDITORIAL_TEST_MODEL_CACHE"):
        env["EDITORIAL_MODEL_CACHE_DIR"] = os.environ["EDITORIAL_TEST_MODEL_CACHE"]
    return subprocess.run(
        [sys.executable, "-m", "editorial", "doctor", "--no-models", *extra],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _age_s(moment: str) -> float:
    beat = datetime.fromisoformat(moment)
    beat = beat if beat.tzinfo else beat.replace(tzinfo=UTC)
    return (datetime.now(UTC) - beat).total_seconds()


def test_killed_ingest_and_killed_run_are_failed_consistent_and_recoverable(browser, tmp_path):
    data = tmp_path / "data"
    seed_people(data)
    log = tmp_path / "app.log"

    # 1. An ingest is under way (the big file's row is INGESTING) when the app is killed.
    server = start_app(data, log)
    page = new_page(browser)
    try:
        login(page, server.url, "ed", password("ed"))
        go(page, "Sources")
        fill(page, "Collection name", "Crash notes", wait=False)
        click(page, "Create collection")
        upload(page, sorted(CORPUS.glob("*.md")))
        click(page, "Ingest files")
        wait_for_text(page, "Last upload", timeout=300_000)
        big = _big_markdown(tmp_path / "queue-manual.md")
        upload(page, [big])
        click(page, "Ingest files", wait=False)
        _wait_until(
            lambda: _query(data, "SELECT 1 FROM source WHERE name = ? AND status = 'INGESTING'", big.name),
            120,
            "the big file to start ingesting",
        )
        time.sleep(1.5)  # some of its chunks are stored
        server.kill()
    finally:
        page.context.close()
        server.stop()
    assert _query(data, "SELECT status FROM source WHERE name = ?", big.name) == [("INGESTING",)]

    # 2. Restarted, a writing run is under way (at least one section call finished) when the app is killed again.
    server = start_app(data, log)
    page = new_page(browser)
    try:
        login(page, server.url, "ed", password("ed"))
        go(page, "Plan & Write")
        fill(page, "Topic", "retrieval-augmented generation")
        number = page.get_by_role("spinbutton", name="Target length (words)")
        number.fill("300")
        number.press("Tab")
        wait_for_app(page)
        click(page, "Plan and write in one go", wait=False)
        _wait_until(
            lambda: _query(data, "SELECT 1 FROM llm_call WHERE stage LIKE 'section%' AND status = 'OK'"),
            900,
            "a finished section call",
            interval=0.5,
        )
        server.kill()
    finally:
        page.context.close()
        server.stop()
    [(run_id, status, heartbeat)] = _query(data, "SELECT id, status, heartbeat_at FROM run")
    assert status == "RUNNING"
    calls_before = _query(data, "SELECT id, stage, total_tokens FROM llm_call WHERE run_id = ? ORDER BY id", run_id)
    assert calls_before and all(tokens > 0 for _id, _stage, tokens in calls_before)

    # 3. Restart on the same data folder once both heartbeats are stale.
    time.sleep(max(0.0, RUN_STALE_S + 2 - _age_s(heartbeat)))
    server = start_app(data, log)
    page = new_page(browser)
    try:
        login(page, server.url, "ed", password("ed"))

        # The interrupted ingest: shown as failed, its partial chunks gone, db and Chroma agree.
        go(page, "Sources")
        wait_for_text(page, "were interrupted and are marked failed")
        assert big.name in main_text(page)
        screenshot(page, "crash-ingest-interrupted")
        assert _query(data, "SELECT status FROM source WHERE name = ?", big.name) == [("FAILED",)]
        doctor = _doctor(data)
        if doctor.returncode != 0:
            repaired = _doctor(data, "--repair")
            assert repaired.returncode == 0, repaired.stdout + repaired.stderr
            doctor = _doctor(data)
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert "database, Chroma and records agree" in doctor.stdout, doctor.stdout

        # ... and it can be retried.
        open_tab(page, "Sources")
        click(page, "Retry 1 failed source(s)")
        wait_for_text(page, "Last upload", timeout=600_000)
        [(status, chunks)] = _query(data, "SELECT status, chunk_count FROM source WHERE name = ?", big.name)
        assert status == "READY" and chunks > 100
        assert _doctor(data).returncode == 0

        # The interrupted run: failed, its finished calls kept, resumed to a draft from where it stopped.
        go(page, "Plan & Write")
        [(status, error)] = _query(data, "SELECT status, error FROM run WHERE id = ?", run_id)
        assert status == "FAILED" and "stopped" in error
        assert _query(data, "SELECT id, stage, total_tokens FROM llm_call WHERE run_id = ? ORDER BY id", run_id) == (
            calls_before
        )
        open_tab(page, "Runs")
        resume = page.get_by_role("combobox", name="Resume a run", exact=True)
        assert resume.input_value() == f"#{run_id} · plan_and_write · retrieval-augmented generation (failed)"
        screenshot(page, "crash-run-failed")
        select(page, "Resume a run", f"#{run_id} ·")
        click(page, "Resume")
        _wait_until(
            lambda: _query(data, "SELECT 1 FROM run WHERE id = ? AND status != 'RUNNING'", run_id),
            1200,
            "the resumed run to end",
            interval=1,
        )
        [(status, draft_id)] = _query(data, "SELECT status, draft_id FROM run WHERE id = ?", run_id)
        assert status == "SUCCEEDED" and draft_id
        after = _query(data, "SELECT id, stage, total_tokens FROM llm_call WHERE run_id = ? ORDER BY id", run_id)
        assert after[: len(calls_before)] == calls_before and len(after) > len(calls_before)
        # Resumed, not restarted: no planning call was repeated.
        assert [stage for _id, stage, _t in after[len(calls_before) :] if stage in ("plan", "repair")] == []
        wait_for_text(page, f"Open draft {draft_id} in the Editor")
        screenshot(page, "crash-run-resumed")
        go(page, "Usage")
        wait_for_text(page, "Total tokens")
        assert page.dialogs == []
    finally:
        page.context.close()
        server.stop()
