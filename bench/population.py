"""Users, tickets and notifications created in bulk for the benchmarks (untimed)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from spire_notify.channels.app.models import AppNotification
from spire_notify.channels.email.models import EmailNotification
from spire_notify.helpdesk.choices import HelpDeskTicketPriorityChoices, HelpDeskTicketPurposeChoices
from spire_notify.helpdesk.enums import TicketEventType
from spire_notify.helpdesk.models import HelpDeskTicket
from spire_notify.models import Notification, NotificationStatus

TICKET_FIELDS = {
    "purpose": HelpDeskTicketPurposeChoices.APP,
    "priority": HelpDeskTicketPriorityChoices.HIGH,
    "description": "Login page throws a 500 error for SSO users.\n<script>alert(1)</script> & more.",
}


def make_users(prefix, count, *, handle_tickets=False, chunk=None):
    """``count`` users; with ``handle_tickets``, superusers, who may see every ticket, so that
    delivery's last check (``HelpDeskTicket.allows_notification_to``) lets their mail go."""
    User = get_user_model()
    return User.objects.bulk_create(
        (
            User(
                username=f"{prefix}{index}",
                email=f"{prefix}{index}@example.com",
                first_name="Bench",
                last_name=f"User {index}",
                is_superuser=handle_tickets,
            )
            for index in range(count)
        ),
        batch_size=chunk,
    )


def wipe_notifications():
    """Delete every notification and detail row, in SQL: ``QuerySet.delete()`` of 200,000 rows
    would collect them in Python first. PostgreSQL truncates, so that the next round writes
    into a table and indexes as clean as the first round's (this server runs no autovacuum)."""
    from django.db import connection

    tables = [connection.ops.quote_name(model._meta.db_table) for model in notification_models()]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
            return
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")


def notification_models():
    """Every model whose rows point at a notification (each channel's details, the receipts of
    deliveries to many destinations), then ``Notification``: the order DELETE needs, and every
    table TRUNCATE must name at once."""
    referencing = {
        relation.related_model
        for relation in Notification._meta.related_objects
        if relation.related_model is not Notification
    }
    return [*sorted(referencing, key=lambda model: model._meta.label), Notification]


def analyze_notifications():
    """Bring the planner's statistics of the notification tables up to date, as autovacuum's
    autoanalyze does after a large write (PostgreSQL; SQLite plans without them)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in notification_models():
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def requester():
    User = get_user_model()
    return User.objects.get_or_create(username="bench-requester", defaults={"email": "req@example.com"})[0]


def make_managers(prefix, count):
    group, _ = Group.objects.get_or_create(name="Bench managers")
    group.permissions.add(Permission.objects.get(codename="delete_helpdeskticket"))
    users = make_users(prefix, count)
    group.user_set.through.objects.bulk_create(
        group.user_set.through(user_id=user.pk, group_id=group.pk) for user in users
    )
    return group, users


def quiet_ticket():
    """A saved ticket whose creation notified nobody (the service is bypassed on purpose)."""
    return HelpDeskTicket.objects.create(created_by=requester(), **TICKET_FIELDS)


def new_ticket_message(ticket):
    return ticket.services.notification.build_message(TicketEventType.NEW)


def pending_backlog(count, *, recipients_per_ticket=10, chunk=5000):
    """``count`` pending notifications as tickets leave them: each ticket reaches
    ``recipients_per_ticket`` developers on the app and email channels."""
    developers = make_users(f"backlog-{count}-", recipients_per_ticket, handle_tickets=True)
    per_ticket = 2 * recipients_per_ticket
    tickets = HelpDeskTicket.objects.bulk_create(
        HelpDeskTicket(created_by=requester(), **TICKET_FIELDS) for _ in range(count // per_ticket)
    )
    now = timezone.now()
    planned = []
    for ticket in tickets:
        message = new_ticket_message(ticket)
        payload = message.to_payload()
        for user in developers:
            for channel in ("app", "email"):
                planned.append(
                    Notification(
                        user=user,
                        channel=channel,
                        event=message.event,
                        title=message.title,
                        payload=payload,
                        content_object=ticket,
                        status=NotificationStatus.PENDING,
                        send_after=now,
                        next_attempt_at=now,
                    )
                )
    for start in range(0, len(planned), chunk):
        rows = Notification.objects.bulk_create(planned[start : start + chunk])
        AppNotification.objects.bulk_create(
            AppNotification(notification=row) for row in rows if row.channel == "app"
        )
        EmailNotification.objects.bulk_create(
            EmailNotification(notification=row, to_email_address=row.user.email)
            for row in rows
            if row.channel == "email"
        )
    return len(planned)


def delivered_inbox(user, count):
    """``count`` sent app notifications in ``user``'s inbox."""
    ticket = quiet_ticket()
    message = new_ticket_message(ticket)
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        Notification(
            user=user,
            channel="app",
            event=message.event,
            title=message.title,
            payload=message.to_payload(),
            content_object=ticket,
            body=message.summary,
            url=message.path,
            status=NotificationStatus.SENT,
            sent_at=now,
        )
        for _ in range(count)
    )
    AppNotification.objects.bulk_create(AppNotification(notification=row) for row in rows)
