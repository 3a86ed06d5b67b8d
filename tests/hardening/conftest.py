"""Fixtures for the hardening tests (the Plan & Write page's fake chain is shared)."""

from tests.pages.test_plan_write_page import fake_chain  # noqa: F401 - re-exported fixture
