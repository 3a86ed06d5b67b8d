"""The shape of one installation check: shared by ``editorial.doctor`` and the modules whose checks it runs.

It sits below both so that a module offering a check (e.g. ``editorial.ingest.consistency``) does
not import ``doctor``, which imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from editorial.settings import Settings


@dataclass
class CheckResult:
    """The outcome of one check."""

    name: str
    ok: bool
    message: str


Check = Callable[[Settings, bool], CheckResult]
"""A check takes the settings and ``repair`` (fix what can be fixed) and returns its result."""
