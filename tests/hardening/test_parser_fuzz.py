"""Item 10: random and truncated bytes for every parser end as ready or failed with one line, never a crash.

Bounded in time: a fixed number of cases per type (seeded), each through the sandboxed parser the upload uses.
"""

from __future__ import annotations

import os
import random
import time

import pytest

from editorial.ingest.errors import SourceRejected
from editorial.ingest.parsers import PARSERS
from editorial.ingest.sandbox import SandboxLimits, parse_sandboxed
from editorial.settings import Settings
from tests.hardening.hostile_files import FIXTURES

SCALE = float(os.environ.get("EDITORIAL_TEST_TIME_SCALE", "1"))
CASES = 12
SEEDS = {
    "md": FIXTURES / "tidewater.md",
    "paste": FIXTURES / "tidewater.md",
    "txt": FIXTURES / "release-checklist.txt",
    "pdf": FIXTURES / "espresso-handbook.pdf",
    "html": FIXTURES / "borrow-checker.html",
    "docx": FIXTURES / "autoscaling-runbook.docx",
}


def mutations(seed: bytes, rng: random.Random) -> list[bytes]:
    """Truncations, flipped bytes, spliced noise and pure noise of a real file."""
    out = [seed[: rng.randrange(1, len(seed))] for _ in range(CASES // 3)]
    for _ in range(CASES // 3):
        data = bytearray(seed)
        for _ in range(rng.randrange(1, 64)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        out.append(bytes(data))
    out += [rng.randbytes(rng.randrange(1, 4096)) for _ in range(CASES // 6)]
    at = rng.randrange(len(seed))
    out += [seed[:at] + rng.randbytes(512) + seed[at:] for _ in range(CASES - len(out))]
    return out


def test_every_parser_survives_random_and_truncated_bytes():
    assert set(SEEDS) == set(PARSERS)
    limits = SandboxLimits.from_settings(Settings(parse_timeout_s=20 * SCALE))
    rng = random.Random(20261202)
    outcomes: dict[str, list[str]] = {}
    started = time.monotonic()
    for kind, path in SEEDS.items():
        for data in mutations(path.read_bytes(), rng):
            try:
                document = parse_sandboxed(kind, data, limits)
            except SourceRejected as exc:
                reason = str(exc)
                assert reason.strip() and "\n" not in reason and len(reason) < 400, (kind, reason)
                outcomes.setdefault(kind, []).append("failed")
            else:
                assert isinstance(document.sections, list)
                outcomes.setdefault(kind, []).append("ready")
    assert time.monotonic() - started < 300 * SCALE
    assert all(len(results) == CASES for results in outcomes.values())
    assert any("failed" in results for results in outcomes.values())


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_empty_and_one_byte_files_fail_with_one_line(kind):
    limits = SandboxLimits.from_settings(Settings())
    for data in (b"\x00", b"<", b"%PDF-", b"PK\x03\x04"):
        try:
            parse_sandboxed(kind, data, limits)
        except SourceRejected as exc:
            assert "\n" not in str(exc)
