"""Small Playwright helpers for driving the Streamlit app the way a person does: labels, buttons, the sidebar."""

from __future__ import annotations

import re

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import wait_for_app
from tests.timing import scaled

# The main area: `stMain`, or on a page with a chat input at its foot `stAppScrollToBottomContainer` instead.
MAIN = ':is([data-testid="stMain"], [data-testid="stAppScrollToBottomContainer"])'

# What an injected script or handler would leave behind; checked after every hostile render.
INJECTION_PROBE = """() => {
    const inMain = css => [...document.querySelectorAll(
        ['[data-testid="stMain"]', '[data-testid="stAppScrollToBottomContainer"]'].map(m => `${m} ${css}`).join(', ')
    )];
    return {
        injected: window.__pwned === true,
        scripts: inMain('script').length,
        handlers: inMain('*').filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
        jsLinks: inMain('a[href], iframe[src]')
            .filter(e => /^\\s*(javascript|data|vbscript):/i.test(e.getAttribute('href') || e.getAttribute('src')))
            .length,
        iframes: inMain('iframe').length,
        images: inMain('img').filter(e => /pwned|onerror|^x$/i.test(e.getAttribute('src') || '')).length,
    };
}"""


# Counts the script runs a page has started, so a helper can wait for the rerun its click caused. The count is
# kept in the tab's sessionStorage, so it keeps growing across a reload or a redirect the action caused (the first
# run of the new document counts too) instead of starting again at 0. A rerun so quick that the page never shows
# it running (React renders only its end) is not counted; for that case the page also notes when a person last
# acted on it and when the server last sent it a message (``settle`` uses both).
RUN_COUNTER = """
(() => {
    let stored = 0;
    try { stored = Number(sessionStorage.getItem('__runs') || 0); } catch (e) {}
    window.__runs = stored;
    window.__lastAction = 0;
    window.__lastMessage = 0;
    new MutationObserver(changes => {
        for (const change of changes) {
            if (change.target.getAttribute('data-test-script-state') === 'running' && change.oldValue !== 'running') {
                window.__runs += 1;
                try { sessionStorage.setItem('__runs', String(window.__runs)); } catch (e) {}
            }
        }
    }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state'],
                          attributeOldValue: true});
    for (const kind of ['pointerdown', 'keydown', 'input', 'change']) {
        window.addEventListener(kind, () => { window.__lastAction = performance.now(); }, true);
    }
    const Socket = window.WebSocket;
    window.WebSocket = class extends Socket {
        constructor(...args) {
            super(...args);
            this.addEventListener('message', () => { window.__lastMessage = performance.now(); });
        }
    };
})();
"""

# The server answered the last action and has been quiet since (150 ms), and the script is not running: a rerun
# too quick to be counted has come and gone.
ANSWERED_AND_IDLE = """n => (window.__runs || 0) > n || (
    window.__lastMessage > window.__lastAction && window.__lastAction > 0
    && performance.now() - window.__lastMessage > 150
    && document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state') === 'notRunning'
)"""


def new_page(browser, *, timeout: float = 120_000):
    """A page in a fresh browser context (its own Streamlit session) that records JS dialogs and script runs."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.add_init_script(RUN_COUNTER)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.set_default_timeout(scaled(timeout))
    return page


def runs(page) -> int:
    """How many script runs this page has seen start."""
    return page.evaluate("() => window.__runs || 0")


def settle(page, before: int) -> None:
    """Wait for the rerun an action caused (when it caused one) to start, then for the app to be idle."""
    try:  # the usual case: the rerun is seen starting
        page.wait_for_function("n => (window.__runs || 0) > n", arg=before, timeout=1_000, polling=50)
    except PlaywrightTimeout:
        try:  # a rerun too quick to be seen running, or one that starts late
            page.wait_for_function(ANSWERED_AND_IDLE, arg=before, timeout=4_000, polling=50)
        except PlaywrightTimeout:  # no rerun within 5 s: the action caused none
            wait_for_app(page)
            return
    wait_for_app(page, started=True)  # the rerun was seen: no pause for a request on its way


def textbox(page, label: str):
    """The text input or text area with exactly this label."""
    return page.get_by_role("textbox", name=label, exact=True)


def fill(page, label: str, value: str, *, wait: bool = True) -> None:
    """Type ``value`` into a field and commit it (Tab blurs it, which Streamlit takes as 'done')."""
    box = textbox(page, label)
    before = runs(page)
    box.fill(value)
    box.press("Tab")
    if wait:
        settle(page, before)


def click(page, name: str, *, exact: bool = True, wait: bool = True) -> None:
    """Click the button with this label and wait for the rerun."""
    before = runs(page)
    button = page.get_by_role("button", name=name, exact=exact).and_(page.locator(':not([kind="elementToolbar"])'))
    button.first.click()
    if wait:
        settle(page, before)


def open_tab(page, name: str) -> None:
    """Bring a tab to the front."""
    page.get_by_role("tab", name=name, exact=True).click()
    page.wait_for_timeout(200)


def select(page, label: str, option: str, *, exact: bool = False, nth: int = 0) -> None:
    """Pick ``option`` (text match) in the ``nth`` select box labelled ``label``."""
    wait_for_app(page)
    box = page.get_by_role("combobox", name=label, exact=True).nth(nth)
    current = box.input_value()
    if current == option or (not exact and option.lower() in current.lower()):
        return  # already chosen: picking it again changes nothing and starts no rerun to wait for
    choice = page.get_by_role("option", name=option, exact=exact).first
    for _attempt in range(3):  # a rerun that lands while the list opens closes it again
        box.scroll_into_view_if_needed()
        box.locator("xpath=..").get_by_role("button", name="Open").click()
        try:
            choice.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            wait_for_app(page)
    before = runs(page)
    choice.click()
    settle(page, before)


def upload(page, paths: list) -> None:
    """Put files into the (first) file uploader and wait until every one is uploaded."""
    page.locator('input[type="file"]').first.set_input_files([str(path) for path in paths])
    page.wait_for_function(
        """n => document.querySelectorAll('[data-testid="stFileChip"]').length === n
            && !document.querySelector('[data-testid="stFileUploader"] [role="progressbar"]')""",
        arg=len(paths),
    )
    wait_for_app(page)


def go(page, title: str) -> None:
    """Open a page from the sidebar (the same browser session, as a person clicks it)."""
    before = runs(page)
    page.locator('[data-testid="stSidebarNav"] a', has_text=re.compile(rf"{re.escape(title)}$")).first.click()
    settle(page, before)
    page.wait_for_function(  # interval polling: requestAnimationFrame does not fire in a page that is not painted
        "main => document.querySelectorAll(main + ' h1').length > 0", arg=MAIN, polling=100
    )


def push_url(page, path: str) -> None:
    """Navigate inside the running session to ``path`` (as the address bar would, without reloading)."""
    before = runs(page)
    page.evaluate(
        """path => {
            window.__lastAction = performance.now();
            history.pushState({}, '', path);
            dispatchEvent(new PopStateEvent('popstate'));
        }""",
        path,
    )
    settle(page, before)


def main_text(page) -> str:
    """The visible text of the main area."""
    return page.locator(MAIN).inner_text()


def wait_for_text(page, text: str, timeout: float | None = None) -> None:
    """Wait until ``text`` appears in the main area (default limit 180 s, scaled; a given ``timeout`` is used as is)."""
    limit = scaled(180_000) if timeout is None else timeout
    page.locator(MAIN).get_by_text(text, exact=False).first.wait_for(timeout=limit)


def login(page, url: str, username: str, password: str) -> None:
    """Open the app in this page and log in."""
    page.goto(url)
    wait_for_app(page)
    fill(page, "User name", username, wait=False)
    fill(page, "Password", password, wait=False)
    click(page, "Log in")
    page.locator('[data-testid="stSidebar"]').get_by_text(f"Logged in as {username}").wait_for()


def log_out(page) -> None:
    """Press the sidebar's log-out button."""
    click(page, "Log out")
    textbox(page, "User name").wait_for()


def errors(page, *, expect: bool = True) -> list[str]:
    """Texts of the error boxes in the main area (waiting for one to show when ``expect``)."""
    if expect:
        page.locator(f'{MAIN} [data-testid="stAlertContentError"]').first.wait_for(timeout=scaled(30_000))
        wait_for_app(page)
    boxes = page.locator(f'{MAIN} [data-testid="stAlertContentError"] [data-testid="stMarkdownContainer"]')
    return [text.strip() for text in boxes.all_inner_texts()]


def assert_nothing_injected(page) -> None:
    """No dialog was opened and nothing from the hostile text became live markup."""
    probe = page.evaluate(INJECTION_PROBE)
    assert page.dialogs == [], page.dialogs
    assert probe == {"injected": False, "scripts": 0, "handlers": 0, "jsLinks": 0, "iframes": 0, "images": 0}, probe


def wait_saved(page, revision: int | None = None) -> None:
    """Wait until the Editor's header says the text is saved (as revision ``revision`` when given)."""
    page.wait_for_function(
        """n => {
            const text = document.querySelector('[data-testid="stMain"]').innerText;
            return /(^|[^n])saved\\b/.test(text) && !text.includes('unsaved changes')
                && (n === null || text.includes('· revision ' + n));
        }""",
        arg=revision,
    )
    wait_for_app(page)
