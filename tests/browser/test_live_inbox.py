"""The live inbox and browser push in Chromium, against uvicorn serving the project's ASGI
application (tests/asgi_server.py): the badge and the list follow server-sent events with no
polling, reading in one tab clears the other, and the push button registers its service worker.

Drives Debian's chromium (never a downloaded browser); screenshots go to ``screenshots/``.
"""

import base64
import os
import re
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from spire_notify import Message, notify
from spire_notify.channels.webpush.models import PushSubscription
from tests.browser.support import NEEDS_CHROMIUM, screenshot
from tests.support.asgi_server import AsgiLiveServer

# The bound: the badge and the list change within 2 s of the commit.
LIVE_MS = 2_000
COUNT_PATH = "/notifications/unread-count/"

pytestmark = [
    NEEDS_CHROMIUM,
    pytest.mark.timeout(180),
]


@pytest.fixture
def server(transactional_db, settings):
    """The ASGI server of the live inbox; conftest's ``browser`` and the pages use it."""
    settings.NOTIFY_LIVE_UPDATES = True
    # Were the badge polling, it would poll every second: the tests would see it.
    settings.NOTIFY_BADGE_POLL_SECONDS = 1
    with AsgiLiveServer() as served:
        yield served


@pytest.fixture
def sign_in(browser, server):
    """A new browser context (its own cookies) signed in as ``user``; returns the context."""

    def sign_in(user, **context_options):
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, base_url=server.url, **context_options
        )
        page = context.new_page()
        page.goto("/notifications/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill("pw")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/notifications/")
        page.close()
        return context

    return sign_in


def open_inbox(context):
    """The inbox in a new tab, with every request it makes after its catch-up recorded."""
    page = context.new_page()
    # Once its stream is open the page asks for the count once, for what was written before it opened.
    with page.expect_request(lambda request: COUNT_PATH in request.url):
        page.goto("/notifications/")
    page.locator('[data-notification-badge][data-live="open"]').wait_for(state="attached")
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.evaluate("window.openedOnce = true")
    return page


def polls(page):
    return [url for url in page.requests if COUNT_PATH in url]


def test_a_new_ticket_reaches_the_open_inbox_live_without_polling(sign_in, make_user):
    from playwright.sync_api import expect

    developer = make_user("dev", email="dev@example.com")
    requester = make_user("requester")
    developer_page = open_inbox(sign_in(developer))
    badge = developer_page.locator("[data-unread-count]")
    expect(badge).to_be_hidden()
    expect(developer_page.locator(".empty")).to_be_visible()

    requester_page = sign_in(requester).new_page()
    requester_page.goto("/help_desk/new/")
    requester_page.get_by_label("Purpose").select_option("app")
    requester_page.get_by_label("Priority").select_option("high")
    requester_page.get_by_label("Description").fill("Login page throws a 500 error for SSO users.")
    requester_page.get_by_role("button", name="Create ticket").click()
    requester_page.wait_for_url(re.compile(r"/help_desk/page/\d+/detail/$"))
    committed = time.monotonic()

    expect(badge).to_have_text("1", timeout=LIVE_MS)
    expect(badge).to_be_visible()
    item = developer_page.locator("li.notification.is-unread", has_text="New Help Desk Ticket #")
    expect(item).to_contain_text("Priority: High - Purpose: App", timeout=LIVE_MS)
    assert time.monotonic() - committed < LIVE_MS / 1000
    expect(item.locator(".pill")).to_have_text("High")
    assert developer_page.evaluate("window.openedOnce") is True
    developer_page.wait_for_timeout(1_500)  # a page that polled every second would have polled by now
    assert polls(developer_page) == []
    screenshot(developer_page, "live_inbox")

    # The live item works as a server-rendered one: opening it marks it read and goes to the ticket.
    item.locator("button.notification-link").click()
    developer_page.wait_for_url(re.compile(r"/help_desk/page/\d+/detail/$"))
    expect(developer_page.locator("[data-unread-count]")).to_be_hidden()


def test_reading_in_one_tab_clears_the_badge_in_the_other(sign_in, make_user):
    from playwright.sync_api import expect

    developer = make_user("dev", email="dev@example.com")
    context = sign_in(developer)
    notify(Message(event="e", title="Deploy failed", body="Build 7"), {developer: ["app"]})
    reading, watching = open_inbox(context), open_inbox(context)
    expect(watching.locator("[data-unread-count]")).to_have_text("1")

    reading.locator("li.notification", has_text="Deploy failed").get_by_role(
        "button", name=re.compile("^Mark read")
    ).click()
    read = time.monotonic()

    expect(watching.locator("[data-unread-count]")).to_be_hidden(timeout=LIVE_MS)
    assert time.monotonic() - read < LIVE_MS / 1000
    expect(watching.locator("li.notification", has_text="Deploy failed")).not_to_have_class(
        re.compile("is-unread")
    )
    expect(watching.locator('form[action$="/read/"]')).to_have_count(0)
    assert polls(watching) == []


def test_what_is_written_before_the_stream_opens_reaches_the_badge(sign_in, make_user):
    from playwright.sync_api import expect

    developer = make_user("dev", email="dev@example.com")
    page = sign_in(developer).new_page()

    def written_while_the_stream_connects(route):
        notify(Message(event="e", title="Deploy failed", body="Build 7"), {developer: ["app"]})
        route.continue_()

    page.route("**/notifications/live/", written_while_the_stream_connects, times=1)
    page.goto("/notifications/")
    # The page was rendered with no unread notification; its stream opened after the commit.
    badge = page.locator("[data-unread-count]")
    expect(badge).to_have_text("1", timeout=LIVE_MS)
    expect(page.locator('[data-notification-badge][data-live="open"]')).to_be_attached()


def test_a_tab_over_the_stream_cap_polls_instead(browser, server, client, make_user, settings):
    from playwright.sync_api import expect

    settings.NOTIFY_LIVE_MAX_STREAMS_PER_USER = 1
    developer = make_user("dev", email="dev@example.com")
    # Signed in by cookie: the sign-in form's page would hold the one stream until the server
    # sees it close.
    client.force_login(developer)
    context = browser.new_context(base_url=server.url)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server.url}]
    )
    live_page = open_inbox(context)
    refused = []
    over_cap = context.new_page()
    over_cap.on(
        "response",
        lambda response: "/notifications/live/" in response.url and refused.append(response.status),
    )
    over_cap.goto("/notifications/")
    # The server refuses the second stream (429); live.js gives the badge back to polling.
    expect(over_cap.locator('[data-notification-badge][data-live="lost"]')).to_be_attached()
    assert refused == [429]

    notify(Message(event="e", title="Deploy failed", body="Build 7"), {developer: ["app"]})
    expect(live_page.locator("[data-unread-count]")).to_have_text("1", timeout=LIVE_MS)
    with over_cap.expect_request(lambda request: COUNT_PATH in request.url, timeout=3_000):
        pass  # it polls every NOTIFY_BADGE_POLL_SECONDS (1 s here)
    expect(over_cap.locator("[data-unread-count]")).to_have_text("1", timeout=3_000)
    assert polls(live_page) == []


def vapid_settings():
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {
        "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
        "push": {
            "BACKEND": "spire_notify.channels.webpush.backend.WebPushBackend",
            "OPTIONS": {"vapid_private_key": pem.decode(), "vapid_subject": "mailto:ops@example.com"},
        },
    }


def active_worker(page):
    """The script URL of the push worker once it is active; its scope is its static folder, not
    the page's, so ``navigator.serviceWorker.ready`` (which waits for the page's own) never resolves."""
    return eventually(
        page,
        """() => navigator.serviceWorker.getRegistration('/static/spire_notify/')
            .then(registration => registration && registration.active && registration.active.scriptURL)""",
    )


def eventually(page, promise_function, timeout_ms=10_000):
    """The first truthy value of an async page function, tried every 50 ms."""
    return page.evaluate(
        """async ([attempt, timeout]) => {
            const until = Date.now() + timeout;
            for (;;) {
                const value = await eval(attempt)();
                if (value || Date.now() > until) { return value; }
                await new Promise(resolve => setTimeout(resolve, 50));
            }
        }""",
        [promise_function, timeout_ms],
    )


def test_enable_browser_notifications_registers_the_worker_and_asks_permission(sign_in, make_user, settings):
    from playwright.sync_api import expect

    settings.NOTIFY_BACKENDS = vapid_settings()
    developer = make_user("dev", email="dev@example.com")
    page = sign_in(developer, permissions=["notifications"]).new_page()
    page.goto("/notifications/")
    button = page.get_by_role("button", name="Enable browser notifications")
    expect(button).to_be_visible()
    assert active_worker(page).endswith("/static/spire_notify/push-sw.js")

    button.click()
    # Permission is granted; subscribing then needs the browser's push service, which this
    # headless Chromium has not got: the page says why instead of failing silently.
    status = page.locator("[data-push-status]")
    expect(status).to_have_text(
        "Could not subscribe: Registration failed - permission denied", timeout=10_000
    )
    expect(button).to_be_enabled()
    screenshot(page, "push_permission")

    # What a browser with a push service posts next: the subscription, with the CSRF token.
    subscription = {
        "endpoint": "https://127.0.0.1:9/send/abc123",
        "keys": {
            "p256dh": base64.urlsafe_b64encode(b"\x04" + os.urandom(64)).rstrip(b"=").decode(),
            "auth": base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode(),
        },
    }
    answer = page.evaluate(
        """subscription => {
            const button = document.querySelector('[data-push-subscribe]');
            return fetch(button.dataset.subscribeUrl, {
                method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json', 'X-CSRFToken': button.dataset.csrfToken},
                body: JSON.stringify(subscription),
            }).then(response => [response.status, response.headers.get('X-Frame-Options')]);
        }""",
        subscription,
    )
    assert answer == [201, "DENY"]
    assert list(PushSubscription.objects.values_list("user__username", "endpoint")) == [
        ("dev", "https://127.0.0.1:9/send/abc123")
    ]


def test_the_service_worker_shows_a_push_and_keeps_its_url(sign_in, make_user, settings):
    settings.NOTIFY_BACKENDS = vapid_settings()
    developer = make_user("dev", email="dev@example.com")
    context = sign_in(developer, permissions=["notifications"])
    page = context.new_page()
    page.goto("/notifications/")
    active_worker(page)
    cdp = context.new_cdp_session(page)
    registrations = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"])
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 5
    while not registrations and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    [registration] = [r for r in registrations if not r.get("isDeleted")]

    # The push service's part, played by the DevTools protocol: deliver a push to the worker
    # (again if the worker was still starting; the notification's tag keeps it one).
    shown = None
    for _ in range(5):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": registration["scopeURL"].split("/static/")[0] + "/",
                "registrationId": registration["registrationId"],
                "data": '{"title":"New Help Desk Ticket #7","body":"Priority: High - Purpose: App","url":"/help_desk/page/7/detail/"}',
            },
        )
        shown = eventually(
            page,
            """() => navigator.serviceWorker.getRegistration('/static/spire_notify/')
                .then(registration => registration.getNotifications())
                .then(list => list.length ? list.map(n => [n.title, n.body, n.data.url]) : null)""",
            timeout_ms=2_000,
        )
        if shown:
            break
    assert shown == [
        ["New Help Desk Ticket #7", "Priority: High - Purpose: App", "/help_desk/page/7/detail/"]
    ]
