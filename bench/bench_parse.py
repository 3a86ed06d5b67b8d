"""Parse overhead of the sandbox: in-process parse vs the same parse in the (warm) child process.

Run: ``.venv/bin/python bench/bench_parse.py [rounds]``. Files: the good fixtures in ``tests/fixtures/sources``.
Rounds alternate the two ways so machine load hits both alike; medians are printed with their ratio.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from editorial.ingest.detect import kind_for_name  # noqa: E402
from editorial.ingest.parsers import parse  # noqa: E402
from editorial.ingest.sandbox import SandboxLimits, parse_sandboxed, shutdown  # noqa: E402
from editorial.settings import Settings  # noqa: E402

FILES = ["tidewater.md", "release-checklist.txt", "cuisine-cp1252.txt", "borrow-checker.html",
         "espresso-handbook.pdf", "autoscaling-runbook.docx"]  # fmt: skip


def main() -> None:
    """Print per-file medians (ms) and the overall ratio sandboxed / in-process."""
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    limits = SandboxLimits.from_settings(Settings())
    files = [(name, kind_for_name(name), (ROOT / "tests/fixtures/sources" / name).read_bytes()) for name in FILES]
    started = time.perf_counter()
    parse_sandboxed("md", b"# warm up\n\ntext", limits)
    print(f"worker start (imports, first parse): {time.perf_counter() - started:.2f} s")
    for _, kind, data in files:  # warm both ways (lazy library imports)
        parse(kind, data, limits.parser)
        parse_sandboxed(kind, data, limits)
    inproc: dict[str, list[float]] = {name: [] for name, _, _ in files}
    boxed: dict[str, list[float]] = {name: [] for name, _, _ in files}
    for round_number in range(rounds):
        order = [(inproc, False), (boxed, True)]
        for table, sandboxed in order if round_number % 2 == 0 else reversed(order):
            for name, kind, data in files:
                t = time.perf_counter()
                parse_sandboxed(kind, data, limits) if sandboxed else parse(kind, data, limits.parser)
                table[name].append(time.perf_counter() - t)
    print(f"load average {os.getloadavg()[0]:.1f}; {rounds} alternating rounds; medians")
    print(f"{'file':28} {'bytes':>8} {'in-process ms':>14} {'sandboxed ms':>13} {'ratio':>6}")
    total_in = total_box = 0.0
    for name, _, data in files:
        a, b = statistics.median(inproc[name]), statistics.median(boxed[name])
        total_in, total_box = total_in + a, total_box + b
        print(f"{name:28} {len(data):>8} {a * 1000:>14.1f} {b * 1000:>13.1f} {b / a:>6.2f}")
    print(f"{'all six':28} {'':>8} {total_in * 1000:>14.1f} {total_box * 1000:>13.1f} {total_box / total_in:>6.2f}")
    shutdown()


if __name__ == "__main__":
    main()
