"""Escalation: a Deferred channel is due after its delay and skipped if the in-app row of the
same message was read by then (spire_notify.deferred, spire_notify.store.inserts)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import override_settings

from spire_notify import Channel, Deferred, Message, clock, notify
from spire_notify.channels.app.models import AppNotification
from spire_notify.models import Notification
from spire_notify.preferences import set_preference
from spire_notify.store.enqueue import request_delivery
from spire_notify.store.signals import notification_skipped
from spire_notify.testing import isolated_notifiers
from spire_notify.worker.process import process_notifications
from spire_notify.worker.skips import READ_IN_APP, skip_read_in_app
from tests.support.delivery_harness import DUMMY_TASKS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_dummy_tasks")]

MESSAGE = Message(event="helpdesk.ticket.new", title="Ticket #1", body="Priority: High", path="/t/1/")
TEN_MINUTES = timedelta(minutes=10)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def _dummy_tasks():
    with override_settings(TASKS=DUMMY_TASKS):
        yield
    clock.reset()


def escalate(user, **options):
    return notify(MESSAGE, {user: ["app", Deferred("email", TEN_MINUTES, **options)]})


def rows_of(notifications):
    return {row.channel: Notification.objects.get(pk=row.pk) for row in notifications}


def test_the_deferred_row_is_due_after_the_delay_and_tied_to_the_in_app_row(make_user):
    ada = make_user("ada")
    with clock.frozen_at(START):
        rows = rows_of(escalate(ada))
    assert rows["app"].status == "sent"
    assert rows["email"].status == "pending"
    assert rows["email"].send_after == START + TEN_MINUTES
    assert rows["email"].unless_read_id == rows["app"].pk


def test_unread_is_emailed_after_the_delay_not_before(make_user):
    ada = make_user("ada")
    with clock.frozen_at(START):
        rows = rows_of(escalate(ada))
        clock.advance(TEN_MINUTES - timedelta(seconds=1))
        assert process_notifications()["sent"] == 0
        assert mail.outbox == []
        clock.advance(1)
        assert process_notifications()["sent"] == 1
    assert [message.to for message in mail.outbox] == [["ada@example.com"]]
    assert Notification.objects.get(pk=rows["email"].pk).status == "sent"


def test_read_before_the_delay_ends_skipped_with_its_reason_and_the_signal(make_user):
    ada = make_user("ada")
    skipped = []

    def receiver(sender, notification, reason, **kwargs):
        skipped.append((notification.pk, reason))

    notification_skipped.connect(receiver)
    try:
        with clock.frozen_at(START):
            rows = rows_of(escalate(ada))
            clock.advance(60)
            AppNotification.objects.of(Notification.objects.filter(pk=rows["app"].pk)).mark_read()
            clock.advance(TEN_MINUTES)
            assert process_notifications() == {"sent": 0, "errored": 0, "failed": 0, "skipped": 1}
    finally:
        notification_skipped.disconnect(receiver)
    email_row = Notification.objects.get(pk=rows["email"].pk)
    assert (email_row.status, email_row.last_error) == ("skipped", READ_IN_APP)
    assert READ_IN_APP == "Skipped: read in the app before the delay."
    assert skipped == [(email_row.pk, READ_IN_APP)]
    assert mail.outbox == []


def test_unless_read_false_only_delays(make_user):
    ada = make_user("ada")
    with clock.frozen_at(START):
        rows = rows_of(escalate(ada, unless_read=False))
        AppNotification.objects.of(Notification.objects.filter(pk=rows["app"].pk)).mark_read()
        clock.advance(TEN_MINUTES)
        assert process_notifications()["sent"] == 1
    assert rows["email"].unless_read_id is None


def test_without_an_in_app_row_the_deferred_row_is_sent_after_the_delay(make_user):
    ada = make_user("ada")
    with clock.frozen_at(START):
        [row] = notify(MESSAGE, {ada: [Deferred("email", TEN_MINUTES)]})
        clock.advance(TEN_MINUTES)
        assert process_notifications()["sent"] == 1
    assert row.unless_read_id is None


def test_the_read_check_is_one_query_per_batch(make_user, django_assert_num_queries):
    users = [make_user(f"user{i}") for i in range(30)]
    with clock.frozen_at(START):
        written = notify(MESSAGE, {user: ["app", Deferred("email", TEN_MINUTES)] for user in users})
    app_rows = [row for row in written if row.channel == "app"]
    AppNotification.objects.of(
        Notification.objects.filter(pk__in=[row.pk for row in app_rows[:10]])
    ).mark_read()
    deferred = list(Notification.objects.filter(channel="email"))
    with django_assert_num_queries(1):
        outcomes = skip_read_in_app(deferred)
    read_users = {row.user_id for row in app_rows[:10]}
    assert {row.pk for row in deferred if row.user_id in read_users} == set(outcomes)


def test_preferences_apply_to_a_deferred_channel(make_user):
    ada = make_user("ada")
    set_preference(ada, "helpdesk.ticket.new", "email", "off")
    assert [row.channel for row in escalate(ada)] == ["app"]


def test_a_channel_named_plainly_and_deferred_counts_once_as_first_named(make_user):
    ada = make_user("ada")
    with clock.frozen_at(START):
        rows = notify(MESSAGE, {ada: ["email", Deferred("email", TEN_MINUTES)]})
    assert [(row.channel, row.send_after) for row in rows] == [("email", START)]


def test_deferred_refuses_what_it_cannot_do(make_user):
    with pytest.raises(TypeError, match=r"Deferred\('email'\): delay must be a timedelta, not 600\."):
        Deferred("email", 600)
    with pytest.raises(ValueError, match=r"Deferred\('email'\): delay must not be negative\."):
        Deferred("email", -TEN_MINUTES)
    with pytest.raises(ValueError, match=r"Deferred\('app'\): that channel delivers by writing"):
        notify(MESSAGE, {make_user("ada"): [Deferred("app", TEN_MINUTES)]})


def test_the_enqueued_delivery_runs_at_each_due_time(make_user, django_capture_on_commit_callbacks):
    ada = make_user("ada")
    with clock.frozen_at(START), django_capture_on_commit_callbacks() as callbacks:
        escalate(ada)
    assert [
        callback.args for callback in callbacks if getattr(callback, "func", None) is request_delivery
    ] == [(START + TEN_MINUTES,)]


def test_a_help_desk_notifier_subclass_escalates_developer_email(developer, create_ticket):
    from spire_notify.helpdesk.notifiers import TicketCreated

    with isolated_notifiers():

        class Escalating(TicketCreated):
            channels = [
                Channel("app"),
                Channel("email", template="helpdesk/email/ticket_new.html", wait=TEN_MINUTES, unless="read"),
            ]

        with clock.frozen_at(START):
            ticket = create_ticket()
            Notification.objects.all().delete()
            rows = rows_of(Escalating(ticket).deliver())
    assert rows["email"].send_after == START + TEN_MINUTES
    assert rows["email"].unless_read_id == rows["app"].pk
