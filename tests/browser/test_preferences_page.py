"""The preferences page and the unsubscribe confirmation in Chromium: a user switches a type
off by email, finds it saved, and confirms an unsubscribe link; both pages pass axe-core's
WCAG 2 A/AA rules at desktop and phone widths."""

import pytest

from spire_notify.preferences import get_preference
from spire_notify.unsubscribe import unsubscribe_url
from tests.browser.axe import axe_violations
from tests.browser.support import NEEDS_AXE, NEEDS_CHROMIUM, screenshot

pytestmark = [NEEDS_CHROMIUM, NEEDS_AXE, pytest.mark.timeout(180)]

NEW = "helpdesk.ticket.new"
PHONE = {"width": 390, "height": 844}


def assert_accessible(page):
    assert axe_violations(page) == []
    page.set_viewport_size(PHONE)
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_user_switches_new_ticket_emails_off(open_as, make_user, security_notice, server):
    from playwright.sync_api import expect

    user = make_user("reader")
    page = open_as(user)
    page.get_by_role("link", name="Notification settings").click()
    page.wait_for_url("**/notifications/preferences/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Notification settings")
    expect(page.get_by_role("group", name="Security notice")).to_contain_text("Always")
    expect(page.get_by_role("group", name="Security notice").get_by_role("combobox")).to_have_count(0)
    assert_accessible(page)

    email_choice = page.get_by_label("New help desk ticket: Email")
    expect(email_choice).to_have_value("immediate")
    email_choice.select_option("off")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_have_text("Your notification settings were saved.")
    expect(page.get_by_label("New help desk ticket: Email")).to_have_value("off")
    expect(page.get_by_label("New help desk ticket: App")).to_have_value("immediate")
    assert get_preference(user, NEW, "email") == "off"
    assert get_preference(user, NEW, "app") == "immediate"
    screenshot(page, "preferences")
    page.set_viewport_size(PHONE)
    screenshot(page, "preferences_phone")


def test_an_unsubscribe_link_asks_first_and_then_switches_off(browser, make_user, server):
    from playwright.sync_api import expect

    user = make_user("reader")
    host = server.url.split("://", 1)[1]
    url = unsubscribe_url(user, "helpdesk.ticket.comment", "email", domain=host, protocol="http")
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe?")
    expect(page.locator("main")).to_contain_text("“New comment on a ticket” notifications by Email")
    assert_accessible(page)
    assert get_preference(user, "helpdesk.ticket.comment", "email") == "immediate"

    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    assert_accessible(page)
    assert get_preference(user, "helpdesk.ticket.comment", "email") == "off"
    screenshot(page, "unsubscribed")
