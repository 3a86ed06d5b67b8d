"""Typed run snapshots (live and stored) and the link rules."""

from __future__ import annotations

import pytest

from db.models import Role, Run, RunKind, RunStatus, User
from editorial.chain.progress import RunProgress, RunSnapshot
from editorial.chain.schemas import WrittenSection
from editorial.links import may_see_run, parse_id, run_refusal


def _section(heading: str, words: int = 3) -> WrittenSection:
    return WrittenSection(heading=heading, text=f"{heading} text.", budget=100, words=words)


def test_the_live_snapshot_is_typed_and_frozen():
    progress = RunProgress(7)
    progress.on_stage_start("write")
    progress.on_section_start(0, 2, "Intro")
    progress.on_token("Hello ")
    progress.on_token("world")
    progress.on_call({"total_tokens": 40})
    snap = progress.snapshot()
    assert isinstance(snap, RunSnapshot) and snap.running and snap.live
    assert (snap.streamed, snap.label, snap.tokens, snap.fraction) == ("Hello world", "Section 1 of 2: Intro", 40, 0.0)
    progress.on_section_done(0, 2, _section("Intro"))
    progress.on_call({"total_tokens": 2})
    assert snap.streamed == "Hello world" and snap.tokens == 40  # a snapshot does not change afterwards
    later = progress.snapshot()
    assert later.fraction == 0.5 and later.streamed == "" and [s.heading for s in later.sections] == ["Intro"]
    with pytest.raises(AttributeError):
        later.stage = "other"  # type: ignore[misc]


def test_a_stored_run_is_pictured_from_its_state():
    run = Run(
        id=3,
        kind=RunKind.WRITE,
        status=RunStatus.RUNNING,
        stage="write",
        state={
            "blueprint": {"sections": [{"heading": "Intro"}, {"heading": "Middle"}, {"heading": "End"}]},
            "sections": [_section("Intro").model_dump()],
        },
    )
    snap = RunSnapshot.from_stored(run)
    assert not snap.live and snap.running and snap.streamed == ""
    assert snap.label == "Section 2 of 3: Middle" and round(snap.fraction, 2) == 0.33
    empty = RunSnapshot.from_stored(Run(id=4, kind=RunKind.PLAN, status=RunStatus.FAILED, state={}))
    assert empty.stage == "finished" and empty.section_total == 0 and empty.label == "Finished"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12", 12), (" 7 ", 7), ("0", None), ("-3", None), ("1e3", None), ("", None), (None, None), ("9" * 13, None),
     ("1; drop table", None), ("١٢", None)],
)  # fmt: skip
def test_parse_id_takes_only_small_positive_decimal_numbers(raw, expected):
    assert parse_id(raw) == expected


def test_runs_are_seen_by_their_author_reviewers_and_admins():
    run = Run(id=5, kind=RunKind.PLAN, started_by_id=1)
    author, other = (
        User(id=1, username="ed", role=Role.EDITOR, password_hash="x"),
        User(id=2, username="eve", role=Role.EDITOR, password_hash="x"),
    )
    reviewer = User(id=3, username="rita", role=Role.REVIEWER, password_hash="x")
    assert may_see_run(author, run) and may_see_run(reviewer, run) and not may_see_run(other, run)
    assert run_refusal(other, run, 5).startswith("Run #5 belongs to another editor")
    assert run_refusal(author, None, 9) == "Run #9 does not exist."
