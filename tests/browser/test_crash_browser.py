"""Crash and restart: SIGKILL the app during an ingest, then during a writing run; restart on the same data folder.

Afterwards the database and Chroma agree (``python -m editorial doctor``), the interrupted ingest and run show as
failed — the run keeps its finished calls in the ledger — and both can be retried or resumed in the browser.
A dead process is recognised by its heartbeat going stale. The limits are settings (60 s for ingests and 90 s for
runs by default); the app here runs with short ones, so the test waits seconds, not minutes, for that once after
the second kill. Every wait is on an event the app records (a source's or run's status, a ledger row), under a
limit scaled by EDITORIAL_TEST_TIME_SCALE, and ends at once if the app process died.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.browser.conftest import REPO_ROOT, screenshot, start_app, wait_for_app
from tests.browser.events import page_catch_up_ms, query, wait_for_ingest_end, wait_for_rows, wait_for_run_end
from tests.browser.seed import password, seed_people
from tests.browser.ui import click, fill, go, login, main_text, new_page, open_tab, select, upload, wait_for_text
from tests.timing import scaled, wait_until

pytestmark = pytest.mark.browser

CORPUS = REPO_ROOT / "bench" / "corpus" / "rag"
# Short liveness limits (settings) so a killed process is recognised in seconds. Stale limits stay well above
# the beat interval (and scale) so a live run or ingest on a loaded machine is never taken for a dead one.
RUN_STALE_S = scaled(6)
INGEST_STALE_S = scaled(20)
LIVENESS = {
    "EDITORIAL_RUN_HEARTBEAT_S": "0.5",
    "EDITORIAL_RUN_STALE_AFTER_S": str(RUN_STALE_S),
    "EDITORIAL_INGEST_HEARTBEAT_S": "1",
    "EDITORIAL_INGEST_STALE_AFTER_S": str(INGEST_STALE_S),
}
_query = query


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
    env = {**os.environ, **LIVENESS, "EDITORIAL_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    if os.environ.get("EDITORIAL_TEST_MODEL_CACHE"):
        env["EDITORIAL_MODEL_CACHE_DIR"] = os.environ["EDITORIAL_TEST_MODEL_CACHE"]
    return subprocess.run(
        [sys.executable, "-m", "editorial", "doctor", "--no-models", *extra],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=scaled(300),
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
    server = start_app(data, log, LIVENESS)
    page = new_page(browser)
    try:
        login(page, server.url, "ed", password("ed"))
        go(page, "Sources")
        fill(page, "Collection name", "Crash notes", wait=False)
        click(page, "Create collection")
        corpus = sorted(CORPUS.glob("*.md"))
        upload(page, corpus)
        click(page, "Ingest files")
        assert set(wait_for_ingest_end(data, [path.name for path in corpus], server=server).values()) == {"READY"}
        wait_for_text(page, "Last upload", timeout=page_catch_up_ms())
        big = _big_markdown(tmp_path / "queue-manual.md")
        upload(page, [big])
        records_before = _query(data, "SELECT count(*) FROM upsertion_record")[0][0]
        click(page, "Ingest files", wait=False)
        wait_for_rows(
            data, "SELECT 1 FROM source WHERE name = ? AND status = 'INGESTING'", big.name,
            what="the big file to start ingesting", limit_s=120, server=server,
        )  # fmt: skip
        wait_for_rows(
            data, "SELECT 1 WHERE (SELECT count(*) FROM upsertion_record) > ?", records_before,
            what="some of the big file's chunks to be stored", limit_s=120, server=server,
        )  # fmt: skip
        server.kill()
    finally:
        page.context.close()
        server.stop()
    assert _query(data, "SELECT status FROM source WHERE name = ?", big.name) == [("INGESTING",)]

    # 2. Restarted, a writing run is under way (at least one section call finished) when the app is killed again.
    server = start_app(data, log, LIVENESS)
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
        wait_for_rows(
            data, "SELECT 1 FROM llm_call WHERE stage LIKE 'section%' AND status = 'OK'",
            what="a finished section call", limit_s=900, server=server,
        )  # fmt: skip
        server.kill()
    finally:
        page.context.close()
        server.stop()
    [(run_id, status, heartbeat)] = _query(data, "SELECT id, status, heartbeat_at FROM run")
    assert status == "RUNNING"
    calls_before = _query(data, "SELECT id, stage, total_tokens FROM llm_call WHERE run_id = ? ORDER BY id", run_id)
    assert calls_before and all(tokens > 0 for _id, _stage, tokens in calls_before)

    # 3. Restart on the same data folder once both heartbeats are stale (seconds, with the short limits).
    [(ingest_beat,)] = _query(data, "SELECT updated_at FROM source WHERE name = ?", big.name)
    wait_until(
        lambda: _age_s(heartbeat) > RUN_STALE_S + 1 and _age_s(ingest_beat) > INGEST_STALE_S + 1,
        timeout=max(RUN_STALE_S, INGEST_STALE_S) + scaled(30),
        what="the killed run's and ingest's heartbeats to go stale",
    )
    server = start_app(data, log, LIVENESS)
    page = new_page(browser)
    try:
        login(page, server.url, "ed", password("ed"))

        # The interrupted ingest: shown as failed, its partial chunks gone.
        go(page, "Sources")
        wait_for_text(page, "were interrupted and are marked failed")
        assert big.name in main_text(page)
        screenshot(page, "crash-ingest-interrupted")
        assert _query(data, "SELECT status FROM source WHERE name = ?", big.name) == [("FAILED",)]

        # The interrupted run: failed (by the page itself, not by the doctor), its finished calls kept.
        go(page, "Plan & Write")
        [(status, error)] = _query(data, "SELECT status, error FROM run WHERE id = ?", run_id)
        assert status == "FAILED" and "stopped" in error
        assert _query(data, "SELECT id, stage, total_tokens FROM llm_call WHERE run_id = ? ORDER BY id", run_id) == (
            calls_before
        )

        # The database and Chroma agree.
        doctor = _doctor(data)
        if doctor.returncode != 0:
            repaired = _doctor(data, "--repair")
            assert repaired.returncode == 0, repaired.stdout + repaired.stderr
            doctor = _doctor(data)
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert "database, Chroma and records agree" in doctor.stdout, doctor.stdout

        # The ingest can be retried.
        go(page, "Sources")
        open_tab(page, "Sources")
        click(page, "Retry 1 failed source(s)")
        wait_for_rows(
            data, "SELECT 1 FROM source WHERE name = ? AND status = 'READY'", big.name,
            what="the retried big file to be ready", limit_s=600, server=server,
        )  # fmt: skip
        wait_for_text(page, "Last upload", timeout=page_catch_up_ms())
        [(status, chunks)] = _query(data, "SELECT status, chunk_count FROM source WHERE name = ?", big.name)
        assert status == "READY" and chunks > 100
        assert _doctor(data).returncode == 0

        # The run resumes to a draft from where it stopped (the failed run is the one offered).
        go(page, "Plan & Write")
        open_tab(page, "Runs")
        resume = page.get_by_role("combobox", name="Resume a run", exact=True)
        assert resume.input_value() == f"#{run_id} · plan_and_write · retrieval-augmented generation (failed)"
        screenshot(page, "crash-run-failed")
        select(page, "Resume a run", f"#{run_id} ·")
        click(page, "Resume")
        wait_for_run_end(data, run_id, server=server, limit_s=1200)
        [(status, draft_id)] = _query(data, "SELECT status, draft_id FROM run WHERE id = ?", run_id)
        assert status == "SUCCEEDED" and draft_id
        after = _query(data, "SELECT id, stage, total_tokens FROM llm_call WHERE run_id = ? ORDER BY id", run_id)
        assert after[: len(calls_before)] == calls_before and len(after) > len(calls_before)
        # Resumed, not restarted: no planning call was repeated.
        assert [stage for _id, stage, _t in after[len(calls_before) :] if stage in ("plan", "repair")] == []
        wait_for_text(page, f"Open draft {draft_id} in the Editor", timeout=page_catch_up_ms())
        screenshot(page, "crash-run-resumed")
        go(page, "Usage")
        wait_for_text(page, "Total tokens")
        assert page.dialogs == []
    finally:
        page.context.close()
        server.stop()
