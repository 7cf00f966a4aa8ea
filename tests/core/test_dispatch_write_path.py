"""notify()'s write path: the rows it inserts are the rows bulk_create would have inserted."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from spire_notify import notify
from spire_notify.channels.app.models import AppNotification
from spire_notify.channels.email.models import EmailNotification
from spire_notify.helpdesk.models import HelpDeskTicket
from spire_notify.models import Notification
from spire_notify.pinned.django_bulk_insert import insert_rows
from tests.support.django_versions import sqlite_999_parameters

pytestmark = pytest.mark.django_db


def test_every_row_reads_back_with_the_values_of_the_message(make_user, ticket, message):
    users = [make_user(f"user{index}") for index in range(3)]
    written = notify(message, {user: ["app", "email"] for user in users})

    stored = {(row.user_id, row.channel): row for row in Notification.objects.all()}
    assert sorted(stored) == sorted((user.pk, channel) for user in users for channel in ("app", "email"))
    for notification in written:
        row = stored[notification.user_id, notification.channel]
        assert row.pk == notification.pk
        assert (row.event, row.title, row.payload) == (
            "helpdesk.ticket.new",
            message.title,
            message.to_payload() | {"language": "en"},
        )
        assert (row.content_type, row.object_id) == (
            ContentType.objects.get_for_model(ticket),
            str(ticket.pk),
        )
        if row.channel == "app":
            # In-app rows are delivered by writing them: rendered and sent in notify() itself.
            assert (row.status, row.attempts, row.body, row.url) == (
                "sent",
                1,
                "Priority: High - Purpose: App",
                f"/help_desk/page/{ticket.pk}/detail/",
            )
            assert row.sent_at == row.created_at
        else:
            assert (row.status, row.attempts, row.body, row.url) == ("pending", 0, "", "")
        assert row.send_after == row.next_attempt_at == row.created_at == notification.created_at
    assert set(AppNotification.objects.values_list("notification_id", flat=True)) == {
        row.pk for row in stored.values() if row.channel == "app"
    }
    assert sorted(EmailNotification.objects.values_list("to_email_address", flat=True)) == sorted(
        user.email for user in users
    )


def test_returned_notifications_are_saved_instances(make_user, message):
    user = make_user("reader")
    [notification] = notify(message, {user: ["app"]})
    assert notification._state.adding is False
    assert notification._state.db == "default"
    assert notification.user is user
    assert notification.app.read_at is None


@pytest.mark.parametrize("recipients", [1, pytest.param(40, marks=sqlite_999_parameters)])
def test_the_number_of_queries_does_not_depend_on_the_recipients(
    make_user, message, recipients, django_assert_num_queries
):
    users = [make_user(f"user{index}") for index in range(recipients)]
    ContentType.objects.get_for_model(message.target)  # the process-wide cache, warm
    with transaction.atomic(), django_assert_num_queries(6):
        # SELECT the recipients' preferences for the type, SAVEPOINT, INSERT notifications,
        # INSERT app rows, INSERT email rows, RELEASE.
        notify(message, {user: ["app", "email"] for user in users})
    assert Notification.objects.count() == 2 * recipients


def test_a_model_with_auto_now_fields_falls_back_to_bulk_create(requester):
    tickets = [
        HelpDeskTicket(created_by=requester, purpose="App", description=f"#{index}") for index in range(2)
    ]
    insert_rows(HelpDeskTicket, tickets, "default")
    assert [ticket.pk for ticket in tickets] == list(
        HelpDeskTicket.objects.order_by("pk").values_list("pk", flat=True)
    )
    assert all(ticket.created_at is not None for ticket in tickets)
