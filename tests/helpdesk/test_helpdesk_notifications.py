"""ticket.services.create: the notifications of a NEW ticket, written in the caller's transaction."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from spire_notify.backends import locmem
from spire_notify.channels.app.models import AppNotification
from spire_notify.channels.email.models import EmailNotification
from spire_notify.helpdesk.enums import TicketEventType
from spire_notify.helpdesk.models import HelpDeskTicket
from spire_notify.helpdesk.services.notification_service import (
    HelpDeskTicketNotificationService,
    UnmappedTicketEvent,
)
from spire_notify.models import Notification
from tests.support.django_versions import sqlite_999_parameters

pytestmark = pytest.mark.django_db

# services.create with ContentType's cache warm: the full_clean() check of the requester,
# SAVEPOINT, INSERT the ticket, then the audience is written by the database, one notify() for
# developers (app, email) and one for managers (app): per channel, on PostgreSQL one INSERT …
# SELECT that also writes the detail rows and applies preferences (after a statement that turns
# JIT off; the last one puts it back), on SQLite that INSERT and the detail rows' INSERT … SELECT;
# the email channel's SELECT of who chose a digest (the mapping path writes theirs); RELEASE
# SAVEPOINT. No query is per recipient.
CREATE_QUERIES = 9


def rows():
    return sorted((n.user.username, n.channel, n.status) for n in Notification.objects.select_related("user"))


@pytest.fixture
def many_recipients(manager_group):
    """``n`` developers (in ADMINS) and ``n`` managers (through the group)."""

    def make(n):
        User = get_user_model()
        developers = [User(username=f"dev{i}", email=f"dev{i}@example.com") for i in range(n)]
        managers = [User(username=f"mgr{i}", email=f"mgr{i}@example.com") for i in range(n)]
        User.objects.bulk_create(developers + managers)
        manager_group.user_set.add(*User.objects.filter(username__startswith="mgr"))
        return [user.email for user in developers]

    return make


@pytest.mark.parametrize("per_role", [1, pytest.param(100, marks=sqlite_999_parameters)])
def test_query_count_does_not_grow_with_recipients(per_role, many_recipients, requester):
    addresses = many_recipients(per_role)
    ContentType.objects.get_for_model(HelpDeskTicket)  # a process-wide cache that warms once
    with override_settings(ADMINS=addresses):
        with CaptureQueriesContext(connection) as queries:
            HelpDeskTicket().services.create(
                created_by=requester, purpose="app", priority="high", description="d"
            )
    assert len(queries) == CREATE_QUERIES, [query["sql"] for query in queries]
    assert Notification.objects.filter(channel="app").count() == 2 * per_role
    assert Notification.objects.filter(channel="email").count() == per_role
    assert AppNotification.objects.count() == 2 * per_role
    assert EmailNotification.objects.count() == per_role


@sqlite_999_parameters
def test_query_count_with_200_recipients_equals_the_count_with_one(
    many_recipients, requester, django_assert_num_queries
):
    addresses = many_recipients(100)
    ContentType.objects.get_for_model(HelpDeskTicket)
    with override_settings(ADMINS=addresses[:1]):
        with django_assert_num_queries(CREATE_QUERIES):
            HelpDeskTicket().services.create(
                created_by=requester, purpose="app", priority="low", description="one"
            )
    with override_settings(ADMINS=addresses):
        with django_assert_num_queries(CREATE_QUERIES):
            HelpDeskTicket().services.create(
                created_by=requester, purpose="app", priority="low", description="all"
            )
    # 1 developer + 100 managers, then 100 developers + 100 managers.
    assert Notification.objects.count() == (1 * 2 + 100) + (100 * 2 + 100)


def test_each_channels_statement_checks_the_roles_once(many_recipients, requester):
    """The audience is developers and managers already: the in-app statement, for both roles,
    does not check them a second time (P2, docs/performance.md)."""
    addresses = many_recipients(1)
    with override_settings(ADMINS=addresses), CaptureQueriesContext(connection) as queries:
        HelpDeskTicket().services.create(
            created_by=requester, purpose="app", priority="high", description="d"
        )
    writes = [
        query["sql"]
        for query in queries
        if query["sql"].startswith(("INSERT", "WITH")) and "auth_user_user_permissions" in query["sql"]
    ]
    assert [sql.count('"auth_user_user_permissions"') for sql in writes] == [1, 1]
    assert Notification.objects.filter(channel="app").count() == 2


def test_developer_gets_app_and_email_manager_gets_app(developer, manager, requester, create_and_deliver):
    ticket = create_and_deliver()
    assert rows() == [("dev", "app", "sent"), ("dev", "email", "sent"), ("manager", "app", "sent")]
    assert {n.content_object for n in Notification.objects.all()} == {ticket}
    assert set(Notification.objects.values_list("title", "event")) == {
        (f"New Help Desk Ticket #{ticket.pk}", "helpdesk.ticket.new")
    }
    [sent] = mail.outbox
    assert sent.subject == f"[High] New Help Desk Ticket #{ticket.pk}"


def test_rollback_writes_and_sends_nothing(
    developer, manager, create_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError, match="^caller failed$"):
            with transaction.atomic():
                create_ticket()
                assert Notification.objects.count() == 3
                raise RuntimeError("caller failed")
    assert callbacks == []
    assert HelpDeskTicket.objects.count() == 0
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_delivery_waits_for_the_callers_commit(developer, create_ticket, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        create_ticket()
    # One to signal the in-app rows (already sent: written so), one to enqueue delivery of the rest.
    assert len(callbacks) == 2
    assert set(Notification.objects.filter(channel="email").values_list("status", flat=True)) == {"pending"}
    assert mail.outbox == []
    for callback in callbacks:
        callback()
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert len(mail.outbox) == 1


def test_saving_or_updating_a_ticket_does_not_notify_again(
    developer, manager, create_and_deliver, django_capture_on_commit_callbacks
):
    ticket = create_and_deliver()
    with django_capture_on_commit_callbacks(execute=True):
        ticket.description = "Edited"
        ticket.save()
        HelpDeskTicket.objects.filter(pk=ticket.pk).update(priority="urgent")
        HelpDeskTicket.objects.get(pk=ticket.pk).save()
    assert Notification.objects.count() == 3
    assert len(mail.outbox) == 1


def test_create_refuses_a_ticket_that_already_exists(create_ticket):
    ticket = create_ticket()
    with pytest.raises(
        ValueError,
        match=rf"^Ticket #{ticket.pk} \(High, App\) is already created; save\(\) it to change it\.$",
    ):
        ticket.services.create(description="again")
    assert Notification.objects.count() == 0


def test_invalid_ticket_is_not_saved_and_notifies_nobody(developer, requester):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        HelpDeskTicket().services.create(
            created_by=requester, purpose="app", priority="whenever", description="d"
        )
    assert raised.value.message_dict == {"priority": ["Value 'whenever' is not a valid choice."]}
    assert HelpDeskTicket.objects.count() == Notification.objects.count() == 0


def test_ticket_with_nobody_to_tell_writes_no_notifications(create_ticket):
    create_ticket()
    assert HelpDeskTicket.objects.count() == 1
    assert Notification.objects.count() == 0


def test_notification_service_is_bound_to_its_ticket(create_ticket):
    ticket = create_ticket()
    assert isinstance(ticket.services.notification, HelpDeskTicketNotificationService)
    assert ticket.services.notification.ticket is ticket


def test_unmapped_event_is_a_named_error():
    service = HelpDeskTicket(pk=1, priority="high", purpose="app").services.notification
    with pytest.raises(UnmappedTicketEvent) as raised:
        service._get_ticket_event_notification_title("escalated")
    assert str(raised.value) == (
        "'escalated' has no notification title in HelpDeskTicketNotificationService; "
        "map it in _get_ticket_event_notification_title()."
    )


def test_new_event_maps_title_and_body():
    service = HelpDeskTicket(pk=4, priority="urgent", purpose="company").services.notification
    assert service._get_ticket_event_notification_title(TicketEventType.NEW) == "New Help Desk Ticket #4"
    assert (
        service._get_ticket_event_notification_body(TicketEventType.NEW)
        == "Priority: Urgent - Purpose: Company"
    )


@override_settings(
    NOTIFY_BACKENDS={
        "app": {"BACKEND": "spire_notify.backends.locmem.LocMemBackend"},
        "email": {"BACKEND": "spire_notify.backends.locmem.LocMemBackend"},
    }
)
def test_channels_are_whatever_backends_the_aliases_name(developer, manager, create_and_deliver):
    ticket = create_and_deliver()
    assert sorted((alias, rendered.body) for alias, _, rendered in locmem.outbox) == [
        ("app", "Priority: High - Purpose: App"),
        ("app", "Priority: High - Purpose: App"),
        ("email", "Priority: High - Purpose: App"),
    ]
    assert {rendered.url for _, _, rendered in locmem.outbox} == {f"/help_desk/page/{ticket.pk}/detail/"}
    assert mail.outbox == []
