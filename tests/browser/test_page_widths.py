"""Every page at a phone's width and a desktop's, in Chromium: no sideways scroll of the page
(``document.documentElement.scrollWidth <= window.innerWidth``) at 320, 390 and 1280 px, and
axe-core's WCAG 2 A/AA rules clean. The preferences page with eight channels configured, the
rendered email itself, and the spacing of the inbox's and the channels page's controls."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.sites.models import Site

from spire_notify import Message, notification_types, notify
from spire_notify.channels.email.previews import render_preview
from spire_notify.helpdesk.models import HelpDeskTicketComment
from spire_notify.unsubscribe import unsubscribe_url
from tests.browser.axe import axe_violations
from tests.browser.support import NEEDS_AXE, NEEDS_CHROMIUM, screenshot

pytestmark = [NEEDS_CHROMIUM, NEEDS_AXE, pytest.mark.timeout(300)]

WIDTHS = [320, 390, 1280]
LOCMEM = {"BACKEND": "spire_notify.backends.locmem.LocMemBackend"}
# Eight channels, each of a name as long as a project might choose.
EXTRA_CHANNELS = ["sms_text", "pager_duty", "team_chat", "ops_webhook"]
EVERYTHING = "ops.everything"


def push_backend():
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {
        "BACKEND": "spire_notify.channels.webpush.backend.WebPushBackend",
        "OPTIONS": {"vapid_private_key": key.decode(), "vapid_subject": "mailto:ops@example.com"},
    }


@pytest.fixture
def eight_channels(settings):
    settings.NOTIFY_BACKENDS = {
        "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
        "email": {"BACKEND": "spire_notify.channels.email.backend.EmailBackend"},
        "chat": {"BACKEND": "spire_notify.channels.apprise.backend.AppriseBackend"},
        "push": push_backend(),
        **dict.fromkeys(EXTRA_CHANNELS, LOCMEM),
    }
    notification_types.register(
        EVERYTHING,
        name="Deploy finished on every environment of every region",
        description="Sent on every channel there is, so that the page has to fit eight of them.",
        default_channels=["app", "email"],
        optional_channels=["chat", "push", *EXTRA_CHANNELS],
    )
    yield list(settings.NOTIFY_BACKENDS)
    notification_types.unregister(EVERYTHING)


# What reaches past the right edge of the window, to say why a page scrolls sideways.
STICKING_OUT = """() => [...document.querySelectorAll('body *')]
    .filter(element => element.getBoundingClientRect().right > window.innerWidth + 0.5)
    .slice(0, 10).map(element => element.outerHTML.slice(0, 120))"""


def horizontal_overflow(page):
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def assert_fits_every_width(page, name):
    """No sideways scroll and no axe violation at each width; a screenshot at each."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        scroll_width, inner_width = horizontal_overflow(page)
        assert scroll_width <= inner_width, (
            f"{name} at {width}px scrolls sideways: {scroll_width}px",
            page.evaluate(STICKING_OUT),
        )
        assert axe_violations(page) == [], f"{name} at {width}px"
        screenshot(page, f"width_{name}_{width}")


def gap_between(first, second):
    """The space between two elements: vertical if one is above the other, else horizontal."""
    a, b = first.bounding_box(), second.bounding_box()
    if a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]:
        return max(b["y"] - (a["y"] + a["height"]), a["y"] - (b["y"] + b["height"]))
    return max(b["x"] - (a["x"] + a["width"]), a["x"] - (b["x"] + b["width"]))


def test_every_page_fits_a_phone_without_sideways_scroll(
    open_as,
    browser,
    server,
    make_user,
    create_ticket,
    eight_channels,
):
    staff = make_user("ada", is_staff=True, is_superuser=True)
    ticket = create_ticket(description="A description with a long word: " + "x" * 120)
    HelpDeskTicketComment.objects.create(ticket=ticket, author=staff, body="Looking into it " * 20)
    notify(
        Message(event=EVERYTHING, title="Deploy of release 2026.12.03-rc1 finished " * 3, path="/deploys/1/"),
        {staff: ["app"]},
    )
    page = open_as(staff)
    pages = {
        "inbox": "/notifications/",
        "preferences": "/notifications/preferences/",
        "channels": "/notifications/channels/",
        "email_previews": "/notifications/email-previews/",
        "email_preview": "/notifications/email-previews/django/helpdesk/email/ticket_new.html",
        "ticket_list": "/help_desk/",
        "ticket_form": "/help_desk/new/",
        "ticket_detail": f"/help_desk/page/{ticket.pk}/detail/",
    }
    for name, path in pages.items():
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(path)
        assert_fits_every_width(page, name)

    # The preferences page offers each of the eight channels, each with its label.
    page.goto("/notifications/preferences/")
    group = page.get_by_role("group", name="Deploy finished on every environment of every region")
    assert group.get_by_role("combobox").count() == 8
    assert group.get_by_label("Deploy finished on every environment of every region: Pager duty").count() == 1

    visitor = browser.new_context(base_url=server.url).new_page()
    visitor.goto("/accounts/login/")
    assert_fits_every_width(visitor, "login")
    host = server.url.split("://", 1)[1]
    visitor.goto(unsubscribe_url(staff, EVERYTHING, "email", domain=host, protocol="http"))
    assert_fits_every_width(visitor, "unsubscribe")


def test_the_email_itself_fits_a_phone(browser, server, create_ticket):
    Site.objects.filter(pk=1).update(name="Acme Support", domain="127.0.0.1:17080")
    Site.objects.clear_cache()
    try:
        preview = render_preview("helpdesk/email/ticket_new.html", "django")
    finally:
        Site.objects.clear_cache()
    page = browser.new_context().new_page()
    page.set_content(preview.html)
    assert page.locator("td.header").inner_text() == "Acme Support"
    assert_fits_every_width(page, "email")
    # Fluid up to 600px: the message takes the phone's width, and no more than 600px on a desktop.
    container = page.locator("table.container")
    page.set_viewport_size({"width": 320, "height": 800})
    assert 280 <= container.bounding_box()["width"] <= 320
    page.set_viewport_size({"width": 1280, "height": 800})
    assert container.bounding_box()["width"] == 600


def test_the_inbox_and_channels_page_controls_keep_apart(open_as, make_user, eight_channels):
    user = make_user("reader")
    page = open_as(user)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        button = page.get_by_role("button", name="Enable browser notifications")
        link = page.get_by_role("link", name="Chat and browser alerts")
        inbox = page.locator("section.card", has=page.locator("#inbox-heading"))
        assert gap_between(button, link) >= 8, width
        assert gap_between(link, inbox) >= 8, width
        assert gap_between(button, inbox) >= 8, width

    page.goto("/notifications/channels/")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        add = page.get_by_role("button", name="Add address")
        below = page.get_by_role("heading", name="This browser")
        assert gap_between(add, below) >= 16, width
