"""The seed's story in a real browser: a requester files a ticket, a developer sees the badge,
opens the notification and lands on the ticket; a manager sees it in-app only.

Drives Debian's chromium (never a downloaded browser) against the app served on 127.0.0.1 by
this test. Screenshots go to ``screenshots/`` at the repository root.
"""

import re

import pytest
from django.core import mail

from spire_notify.helpdesk.forms import EMPTY_DESCRIPTION
from spire_notify.helpdesk.models import HelpDeskTicket
from spire_notify.models import Notification
from tests.browser.support import NEEDS_CHROMIUM, WAIT_MS, screenshot

pytestmark = [NEEDS_CHROMIUM, pytest.mark.timeout(180)]


def test_a_new_ticket_reaches_the_developer_live_and_the_manager_in_app_only(
    open_as, make_user, manager, server
):
    from playwright.sync_api import expect

    developer = make_user("dev", email="Dev@Example.com", is_staff=True)
    requester = make_user("requester", first_name="Ada", last_name="Lovelace")

    developer_page = open_as(developer)
    badge = developer_page.locator("[data-unread-count]")
    expect(badge).to_have_text("0")
    expect(badge).to_be_hidden()
    # Set on this document: still there later means the page was never reloaded.
    developer_page.evaluate("window.openedOnce = true")

    requester_page = open_as(requester, "/help_desk/new/")
    requester_page.get_by_label("Description").fill("   ")
    requester_page.get_by_role("button", name="Create ticket").click()
    expect(requester_page.locator("#id_description_error")).to_have_text(EMPTY_DESCRIPTION)
    expect(requester_page.get_by_label("Description")).to_have_attribute("aria-invalid", "true")
    screenshot(requester_page, "new_ticket_errors")
    requester_page.get_by_label("Purpose").select_option("app")
    requester_page.get_by_label("Priority").select_option("high")
    requester_page.get_by_label("Description").fill(
        "Login page throws a 500 error for SSO users.\n\nIt started after Monday's deploy."
    )
    requester_page.get_by_role("button", name="Create ticket").click()
    ticket = HelpDeskTicket.objects.get()
    detail_path = f"/help_desk/page/{ticket.pk}/detail/"
    requester_page.wait_for_url(f"**{detail_path}")
    expect(requester_page.get_by_role("heading", level=1)).to_have_text(f"Ticket #{ticket.pk}")

    expect(badge).to_have_text("1", timeout=WAIT_MS)
    expect(badge).to_be_visible()
    assert developer_page.evaluate("window.openedOnce") is True

    developer_page.get_by_role("link", name=re.compile("^Notifications")).click()
    developer_page.wait_for_url("**/notifications/")
    title = f"New Help Desk Ticket #{ticket.pk}"
    item = developer_page.locator("li.notification", has_text=title)
    expect(item).to_have_class(re.compile("is-unread"))
    expect(item).to_contain_text("Priority: High - Purpose: App")
    screenshot(developer_page, "inbox")

    item.locator("button.notification-link").click()
    developer_page.wait_for_url(f"**{detail_path}")
    expect(developer_page.get_by_role("heading", level=1)).to_have_text(f"Ticket #{ticket.pk}")
    expect(badge).to_have_text("0")
    expect(badge).to_be_hidden()
    screenshot(developer_page, "ticket_detail")

    manager_page = open_as(manager)
    expect(manager_page.locator("li.notification", has_text=title)).to_contain_text(
        "Priority: High - Purpose: App"
    )
    expect(manager_page.locator("[data-unread-count]")).to_have_text("1")
    assert sorted(Notification.objects.filter(user=manager).values_list("channel", "status")) == [
        ("app", "sent")
    ]
    assert [message.to for message in mail.outbox] == [["Dev@example.com"]]
    assert mail.outbox[0].subject == f"[High] {title}"

    developer_page.get_by_role("link", name="Email previews").click()
    developer_page.get_by_role("link", name="django preview of helpdesk/email/ticket_new.html").click()
    expect(developer_page.locator('[data-preview="subject"]')).to_have_text(
        "[High] New Help Desk Ticket #1042"
    )
    expect(
        developer_page.frame_locator("iframe.preview-frame").get_by_role("link", name="View ticket #1042")
    ).to_be_visible()
    screenshot(developer_page, "email_preview")


def test_the_developer_moves_the_ticket_and_the_requester_sees_it_live(
    open_as, create_ticket, requester, make_user, server
):
    from playwright.sync_api import expect

    developer = make_user("dev", email="Dev@Example.com")
    ticket = create_ticket()
    requester_page = open_as(requester, f"/help_desk/page/{ticket.pk}/detail/")
    badge = requester_page.locator("[data-unread-count]")
    expect(badge).to_have_text("0")

    developer_page = open_as(developer, f"/help_desk/page/{ticket.pk}/detail/")
    developer_page.get_by_label("Status", exact=True).select_option("in_progress")
    developer_page.get_by_role("button", name="Update status").click()
    expect(developer_page.get_by_role("status")).to_have_text(f"Ticket #{ticket.pk} is now In Progress.")
    developer_page.get_by_label("Add a comment").fill("Found it: the SSO callback drops the session cookie.")
    developer_page.get_by_role("button", name="Comment").click()
    expect(developer_page.locator(".comment-body")).to_have_text(
        "Found it: the SSO callback drops the session cookie."
    )

    expect(badge).to_have_text("2", timeout=WAIT_MS)
    requester_page.get_by_role("link", name=re.compile("^Notifications")).click()
    expect(requester_page.locator("li.notification .notification-body")).to_have_text(
        [
            "dev: Found it: the SSO callback drops the session cookie.",
            "Your ticket is now In Progress",
        ]
    )
    assert sorted(message.subject for message in mail.outbox if message.to == ["requester@example.com"]) == [
        f"Help Desk Ticket #{ticket.pk} updated: In Progress",
        f"New comment on Help Desk Ticket #{ticket.pk}",
    ]
    screenshot(requester_page, "inbox_requester")

    requester_page.set_viewport_size({"width": 390, "height": 844})
    screenshot(requester_page, "inbox_phone")
    requester_page.get_by_role("link", name="Tickets", exact=True).click()
    expect(requester_page.locator("table.data tbody tr")).to_have_count(1)
    screenshot(requester_page, "ticket_list_phone")
