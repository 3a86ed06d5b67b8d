import pytest

from tests.browser.conftest import screenshot, wait_for_app

pytestmark = pytest.mark.browser


def test_home_page_renders_in_chromium(app_server, page):
    page.goto(app_server.url)
    wait_for_app(page)
    page.get_by_text("Editorial Desk").first.wait_for()
    screenshot(page, "smoke-home")
    assert page.dialogs == []
