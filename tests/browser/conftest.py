"""The fixtures of the browser tests: the app served on 127.0.0.1, Debian's chromium driven by
Playwright, and a page signed in as a user."""

import pytest
from django.db import connections
from pytest_django.live_server_helper import LiveServer

from tests.browser.support import CHROMIUM, LAUNCH_ARGS


@pytest.fixture
def server(transactional_db, settings):
    # The badge polls every second here, so the test waits seconds, not the default 15.
    settings.NOTIFY_BADGE_POLL_SECONDS = 1
    served = LiveServer("127.0.0.1")
    yield served
    served.stop()


@pytest.fixture
def browser(server, monkeypatch):
    # Depends on the server so that it closes first: pages still polling the badge would
    # otherwise reach a server that is shutting down.
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test
    # between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()
        # ORM calls made while Playwright's loop runs get connections of their own context;
        # closed here, or the test database cannot be dropped at the end of the session.
        connections.close_all()


@pytest.fixture
def open_as(browser, server):
    """A page in its own browser context (its own cookies), signed in as ``user``."""

    def open_as(user, path="/notifications/"):
        context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
        page = context.new_page()
        page.goto(path)
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill("pw")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"**{path}")
        return page

    return open_as
