"""The Notification admin: filters, search, attempts and errors shown, and the retry action."""

from datetime import timedelta

import lxml.html
import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from spire_notify.helpdesk.models import HelpDeskTicket
from spire_notify.models import Notification

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:spire_notify_notification_changelist")


@pytest.fixture
def admin_client(client, make_user, delivered_ticket):
    # Made after the ticket, so this superuser (a manager by Django's rules) got nothing.
    client.force_login(make_user("admin", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def delivered_ticket(create_and_deliver, developer, manager):
    return create_and_deliver()


def listed_titles_and_users(response):
    page = lxml.html.fromstring(response.content)
    return sorted(
        (row.cssselect("th a")[0].text_content(), row.cssselect("td.field-user")[0].text_content())
        for row in page.cssselect("#result_list tbody tr")
    )


def fail(notification, *, status, attempts, error):
    Notification.objects.filter(pk=notification.pk).update(
        status=status,
        attempts=attempts,
        last_error=error,
        next_attempt_at=timezone.now() + timedelta(hours=6),
    )


def test_filters_by_channel_and_status(admin_client, delivered_ticket):
    email = Notification.objects.get(channel="email")
    fail(email, status="failed", attempts=5, error="SMTPRecipientsRefused: 550 no such user")
    title = f"New Help Desk Ticket #{delivered_ticket.pk}"

    assert listed_titles_and_users(admin_client.get(CHANGELIST, {"channel": "app"})) == [
        (title, "dev"),
        (title, "manager"),
    ]
    assert listed_titles_and_users(admin_client.get(CHANGELIST, {"status__exact": "failed"})) == [
        (title, "dev")
    ]


@pytest.mark.parametrize(
    ("query", "expected_users"),
    [
        ("manager", ["manager"]),
        ("Dev@Example", ["dev", "dev"]),
        ("New Help Desk", ["dev", "dev", "manager"]),
        ("nothing like it", []),
    ],
)
def test_searches_by_user_and_title(admin_client, delivered_ticket, query, expected_users):
    found = listed_titles_and_users(admin_client.get(CHANGELIST, {"q": query}))
    assert [user for _, user in found] == expected_users


def test_shows_attempts_and_the_last_error(admin_client, delivered_ticket):
    fail(
        Notification.objects.get(channel="email"),
        status="errored",
        attempts=3,
        error="SMTPServerDisconnected: Connection unexpectedly closed",
    )
    page = lxml.html.fromstring(admin_client.get(CHANGELIST, {"channel": "email"}).content)
    [row] = page.cssselect("#result_list tbody tr")
    assert row.cssselect("td.field-attempts")[0].text_content() == "3"
    assert row.cssselect("td.field-short_last_error")[0].text_content() == (
        "SMTPServerDisconnected: Connection unexpectedly closed"
    )


def test_retry_requeues_failed_rows_and_delivers_them(
    admin_client, delivered_ticket, django_capture_on_commit_callbacks
):
    email = Notification.objects.get(channel="email")
    fail(email, status="failed", attempts=5, error="SMTPServerDisconnected: gone")
    mail.outbox.clear()
    sent_before = {n.pk: n.sent_at for n in Notification.objects.filter(channel="app")}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(
            CHANGELIST,
            {
                "action": "retry_delivery",
                "_selected_action": [n.pk for n in Notification.objects.all()],
            },
            follow=True,
        )

    assert len(callbacks) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == ("sent", 6, "")
    assert [message.to for message in mail.outbox] == [["Dev@example.com"]]
    # Rows already sent are left as they were: retrying them would deliver twice.
    assert {n.pk: n.sent_at for n in Notification.objects.filter(channel="app")} == sent_before
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        "1 notification queued for delivery.",
        "2 notifications skipped: sent or being delivered.",
    ]


def test_retry_sets_pending_and_due_now_before_delivery(admin_client, delivered_ticket):
    errored = Notification.objects.get(channel="email")
    fail(errored, status="errored", attempts=2, error="timeout")

    admin_client.post(CHANGELIST, {"action": "retry_delivery", "_selected_action": [errored.pk]})

    errored.refresh_from_db()
    assert errored.status == "pending"
    assert errored.next_attempt_at <= timezone.now()


def test_a_status_changed_in_the_ticket_admin_tells_the_creator(admin_client, delivered_ticket):
    url = reverse("admin:spire_helpdesk_helpdeskticket_change", args=[delivered_ticket.pk])
    admin_client.post(
        url,
        {
            "created_by": delivered_ticket.created_by_id,
            "purpose": "app",
            "priority": "high",
            "status": "done",
            "description": delivered_ticket.description,
            "comments-TOTAL_FORMS": "0",
            "comments-INITIAL_FORMS": "0",
        },
    )
    assert HelpDeskTicket.objects.get().status == "done"
    assert list(
        Notification.objects.filter(event="helpdesk.ticket.update")
        .values_list("user__username", "channel", "payload__body")
        .order_by("channel")
    ) == [
        ("requester", "app", "Your ticket is now Done"),
        ("requester", "email", "Your ticket is now Done"),
    ]


class TestRetryNeedsTheChangePermission:
    @pytest.fixture
    def staff_client(self, client, make_user, delivered_ticket):
        def login(*codenames):
            user = make_user("staff", is_staff=True)
            user.user_permissions.add(
                *Permission.objects.filter(content_type__app_label="spire_notify", codename__in=codenames)
            )
            client.force_login(user)
            return client

        return login

    def test_a_viewer_neither_sees_nor_runs_it(self, staff_client, django_capture_on_commit_callbacks):
        client = staff_client("view_notification")
        failed = Notification.objects.get(channel="email")
        fail(failed, status="failed", attempts=5, error="SMTPServerDisconnected: gone")

        page = lxml.html.fromstring(client.get(CHANGELIST).content)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            client.post(CHANGELIST, {"action": "retry_delivery", "_selected_action": [failed.pk]})

        assert page.cssselect('select[name="action"] option[value="retry_delivery"]') == []
        failed.refresh_from_db()
        assert (failed.status, failed.attempts) == ("failed", 5)
        assert callbacks == []

    def test_a_user_who_may_change_notifications_runs_it(self, staff_client):
        client = staff_client("view_notification", "change_notification")
        failed = Notification.objects.get(channel="email")
        fail(failed, status="failed", attempts=5, error="SMTPServerDisconnected: gone")

        page = lxml.html.fromstring(client.get(CHANGELIST).content)
        client.post(CHANGELIST, {"action": "retry_delivery", "_selected_action": [failed.pk]})

        assert len(page.cssselect('select[name="action"] option[value="retry_delivery"]')) == 1
        failed.refresh_from_db()
        assert failed.status == "pending"


def test_each_channels_detail_rows_show_inline_as_its_backend_declares(admin_client, developer):
    """The admin names no channel: the inlines come from the configured backends' detail models."""
    pages = {}
    for row in Notification.objects.filter(user=developer):
        page = admin_client.get(reverse("admin:spire_notify_notification_change", args=[row.pk]))
        pages[row.channel] = page.content.decode()
    assert "to_email_address" in pages["email"] and "dev@example.com".lower() in pages["email"].lower()
    assert "read_at" in pages["app"]
    assert "to_email_address" not in pages["app"]
