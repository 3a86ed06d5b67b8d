"""The whole editorial journey in real Chromium against a fresh app with the embedded models, in one run."""

from __future__ import annotations

import time

import pytest

from tests.browser import journey as steps
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

STEPS = [
    steps.first_visit_admin,
    steps.admin_adds_people,
    steps.editor_builds_a_collection,
    steps.editor_searches,
    steps.editor_plans,
    steps.editor_writes,
    steps.editor_asks_and_takes_a_tag,
    steps.editor_edits_and_submits,
    steps.reviewer_requests_changes,
    steps.editor_revises,
    steps.reviewer_approves_and_exports,
    steps.usage_shows_the_run,
]


def test_editorial_journey_from_first_visit_to_export(app_server, browser, tmp_path):
    journey = steps.Journey(app_server.url, app_server.data_dir, browser, server=app_server)
    timings = {}
    try:
        for step in STEPS:
            started = time.monotonic()
            if step is steps.reviewer_approves_and_exports:
                step(journey, tmp_path)
            else:
                step(journey)
            timings[step.__name__] = round(time.monotonic() - started, 1)
        for who, page in journey.pages.items():
            assert page.dialogs == [], (who, page.dialogs)
    except BaseException:
        for who, page in journey.pages.items():
            screenshot(page, f"FAILED-journey-{who}")
        raise
    finally:
        print(f"\njourney step timings (s): {timings}; plan {journey.timings}; streamed {journey.streamed[:12]}")
        journey.close()
