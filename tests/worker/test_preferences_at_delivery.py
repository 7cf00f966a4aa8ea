"""Preferences applied again when a row is delivered (issue 18, item 7).

A row written before its recipient switched its type off on its channel (a ``Deferred`` email,
a row scheduled with ``send_after``, a row waiting for a retry) ends ``skipped`` with the reason,
and nothing reaches the SMTP server on 127.0.0.1. Recipients switch off through the real views:
the one-click unsubscribe POST and the preferences page. The worker is ``process_notifications``
in this process; tests/worker/test_timing_worker.py runs it in a worker process.
"""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spire_notify import Deferred, Message, clock, notification_types, notify
from spire_notify.models import Notification, NotificationPreference
from spire_notify.preferences import SWITCHED_OFF, get_preference, set_preference, skip_switched_off
from spire_notify.unsubscribe import unsubscribe_url
from spire_notify.worker.process import process_notifications
from tests.support.delivery_backends import ScriptedBackend
from tests.support.delivery_harness import DUMMY_TASKS, SmtpSink

pytestmark = pytest.mark.django_db

NEW = "helpdesk.ticket.new"
UPDATE = "helpdesk.ticket.update"
MESSAGE = Message(event=NEW, title="Ticket #1", body="Priority: High", path="/t/1/")
TEN_MINUTES = timedelta(minutes=10)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOTHING = {"sent": 0, "errored": 0, "failed": 0, "skipped": 0}


@pytest.fixture
def sink():
    """A real SMTP server on 127.0.0.1 that the email channel sends to."""
    with SmtpSink() as running, override_settings(TASKS=DUMMY_TASKS, **running.mail_settings(timeout=5)):
        yield running
    clock.reset()


def one_click_unsubscribe(recipient, type_key=NEW, channel="email"):
    """What a mail provider does with the email's List-Unsubscribe-Post: a bare POST."""
    url = unsubscribe_url(recipient, type_key, channel, domain="example.com")
    response = Client(enforce_csrf_checks=True).post(urlsplit(url).path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200


def received(sink):
    """The recipients the SMTP server accepted a message for, in order."""
    with sink.handler.lock:
        return [recipient for _, recipient in sink.handler.received]


def outcome_of(row):
    row.refresh_from_db()
    return row.status, row.last_error


def test_the_reason_says_what_happened():
    assert SWITCHED_OFF == "Skipped: the recipient switched this type of notification off on this channel."


def test_a_deferred_email_is_not_sent_after_a_one_click_unsubscribe(sink, make_user):
    ada = make_user("ada")
    with clock.frozen_at(START):
        rows = {row.channel: row for row in notify(MESSAGE, {ada: ["app", Deferred("email", TEN_MINUTES)]})}
        one_click_unsubscribe(ada)
        clock.advance(TEN_MINUTES)
        assert process_notifications() == NOTHING | {"skipped": 1}
    assert outcome_of(rows["email"]) == ("skipped", SWITCHED_OFF)
    assert outcome_of(rows["app"]) == ("sent", "")  # only email was switched off
    assert received(sink) == []


def test_a_row_waiting_for_a_retry_is_not_sent_after_a_one_click_unsubscribe(sink, make_user):
    ada, bob = make_user("ada"), make_user("bob")
    sink.handler.refuse = {"ada@example.com": "451 Try again later", "bob@example.com": "451 Try again later"}
    with clock.frozen_at(START):
        rows = {row.user: row for row in notify(MESSAGE, {ada: ["email"], bob: ["email"]})}
        assert process_notifications() == NOTHING | {"errored": 2}
        sink.handler.refuse = {}
        one_click_unsubscribe(ada)
        clock.advance(timedelta(hours=1))  # past the first retry delay (at most a minute)
        assert process_notifications() == NOTHING | {"sent": 1, "skipped": 1}
    assert outcome_of(rows[ada]) == ("skipped", SWITCHED_OFF)
    assert outcome_of(rows[bob]) == ("sent", "")
    assert received(sink) == ["bob@example.com"]


def test_rows_scheduled_with_send_after_follow_the_preferences_page(sink, make_user):
    ada, bob = make_user("ada"), make_user("bob")
    with clock.frozen_at(START):
        later = START + timedelta(hours=2)
        written = notify(MESSAGE, {ada: ["app", "email"], bob: ["app", "email"]}, send_after=later)
        page = Client()
        page.force_login(ada)
        response = page.post("/notifications/preferences/", {f"{NEW}:email": "off", f"{NEW}:app": "off"})
        assert response.status_code == 302
        clock.advance(timedelta(hours=2))
        assert process_notifications() == NOTHING | {"sent": 2, "skipped": 2}
    outcomes = {(row.user.username, row.channel): outcome_of(row) for row in written}
    assert outcomes == {
        ("ada", "app"): ("skipped", SWITCHED_OFF),
        ("ada", "email"): ("skipped", SWITCHED_OFF),
        ("bob", "app"): ("sent", ""),
        ("bob", "email"): ("sent", ""),
    }
    assert received(sink) == ["bob@example.com"]
    assert list(
        Notification.objects.filter(app__isnull=False, status="sent").values_list("user__username", flat=True)
    ) == ["bob"]


def test_a_guest_who_unsubscribes_gets_no_scheduled_email(sink):
    with clock.frozen_at(START):
        [row] = notify(MESSAGE, {"Guest@Example.org": ["email"]}, send_after=START + TEN_MINUTES)
        one_click_unsubscribe("guest@example.org")
        clock.advance(TEN_MINUTES)
        assert process_notifications() == NOTHING | {"skipped": 1}
    assert outcome_of(row) == ("skipped", SWITCHED_OFF)
    assert received(sink) == []


def test_switching_back_on_before_delivery_delivers(sink, make_user):
    ada = make_user("ada")
    with clock.frozen_at(START):
        [row] = notify(MESSAGE, {ada: ["email"]}, send_after=START + TEN_MINUTES)
        one_click_unsubscribe(ada)
        set_preference(ada, NEW, "email", "immediate")
        clock.advance(TEN_MINUTES)
        assert process_notifications() == NOTHING | {"sent": 1}
    assert outcome_of(row) == ("sent", "")
    assert received(sink) == ["ada@example.com"]


def test_a_mandatory_type_is_delivered_whatever_a_stored_preference_says(sink, make_user, security_notice):
    ada = make_user("ada")
    notice = Message(event=security_notice, title="New sign-in", path="/account/")
    with clock.frozen_at(START):
        [row] = notify(notice, {ada: ["email"]}, send_after=START + TEN_MINUTES)
        # An "off" stored before the type became mandatory: set_preference() refuses it now.
        NotificationPreference.objects.create(user=ada, type_key=security_notice, channel="email", mode="off")
        clock.advance(TEN_MINUTES)
        assert process_notifications() == NOTHING | {"sent": 1}
    assert outcome_of(row) == ("sent", "")
    assert received(sink) == ["ada@example.com"]


def test_the_preference_check_is_one_query_per_batch(make_user, django_assert_num_queries):
    users = [make_user(f"user{i}") for i in range(20)]
    guests = [f"guest{i}@example.org" for i in range(5)]
    with override_settings(TASKS=DUMMY_TASKS):
        for event in (NEW, UPDATE):
            notify(
                Message(event=event, title=event), {recipient: ["email"] for recipient in [*users, *guests]}
            )
    for user in users[:4]:
        set_preference(user, NEW, "email", "off")
    set_preference(users[4], UPDATE, "email", "off")
    set_preference(users[5], NEW, "app", "off")  # another channel: not these rows
    set_preference(guests[0], UPDATE, "email", "off")
    rows = list(Notification.objects.select_related("email"))
    assert len(rows) == 50
    with django_assert_num_queries(1):
        outcomes = skip_switched_off(rows, kept_address=lambda row: row.email.to_email_address)
    switched_off = {(row.user, row.email.to_email_address, row.event) for row in rows if row.pk in outcomes}
    assert switched_off == {
        *((user, user.email, NEW) for user in users[:4]),
        (users[4], users[4].email, UPDATE),
        (None, guests[0], UPDATE),
    }
    assert {(outcome.skip, outcome.error) for outcome in outcomes.values()} == {(True, SWITCHED_OFF)}


CHANNELS = ("app", "email")
CHOICE = st.tuples(
    st.integers(min_value=0, max_value=4),  # one of three users, then one of two guests
    st.sampled_from([NEW, UPDATE]),
    st.sampled_from(CHANNELS),
    st.sampled_from(["immediate", "off", "digest"]),
)


@pytest.fixture
def people(make_user):
    return [make_user("ada"), make_user("bob"), make_user("cy"), "guest@example.org", "Other@Example.org"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choices=st.lists(CHOICE, max_size=12))
def test_the_batch_check_agrees_with_get_preference_whatever_was_chosen(people, choices):
    """One row per recipient, type and channel: skipped exactly where get_preference() says off."""
    with transaction.atomic():
        for index, type_key, channel, mode in choices:
            if (mode, channel) != ("digest", "app"):  # the in-app channel sends no digests
                set_preference(people[index], type_key, channel, mode)
        combinations = [
            (who, event, channel) for who in people for event in (NEW, UPDATE) for channel in CHANNELS
        ]
        rows = {
            number: Notification(
                pk=number, user=None if isinstance(who, str) else who, channel=channel, event=event
            )
            for number, (who, event, channel) in enumerate(combinations)
        }
        written_for = {number: who for number, (who, _, _) in enumerate(combinations)}

        def kept_address(row):
            return written_for[row.pk] if row.user is None else ""

        skipped = skip_switched_off(rows.values(), kept_address=kept_address)
        expected = {
            number
            for number, (who, event, channel) in enumerate(combinations)
            if get_preference(who, event, channel) == "off"
        }
        transaction.set_rollback(True)
    assert set(skipped) == expected


def test_no_query_where_no_preference_can_apply(make_user, security_notice, django_assert_num_queries):
    ada = make_user("ada")
    rows = [
        Notification(pk=1, user=ada, channel="email", event=security_notice),
        Notification(pk=2, user=ada, channel="email", event="not.a.registered.type"),
        Notification(pk=3, user=None, channel="webhook", event=NEW),  # a guest with no address kept
    ]
    with django_assert_num_queries(0):
        assert skip_switched_off(rows, kept_address=lambda row: "") == {}


BACKENDS = {"scripted": {"BACKEND": "tests.support.delivery_backends.ScriptedBackend"}}
DEPLOYS = "deploys.finished"


@pytest.fixture
def deploys():
    notification_types.register(DEPLOYS, name="Deploy finished", default_channels=["scripted"])
    yield Message(event=DEPLOYS, title="Deploy finished", body="All green.", path="/deploys/7/")
    notification_types.unregister(DEPLOYS)


def test_the_workers_queries_do_not_grow_with_the_batch(make_user, deploys, django_assert_num_queries):
    def deliver(count):
        recipients = [make_user(f"user{count}-{i}") for i in range(count)]
        written = notify(deploys, {user: ["scripted"] for user in recipients})
        set_preference(recipients[0], DEPLOYS, "scripted", "off")
        # tests/worker/test_automations.py counts the 7 queries of a run that delivers one short batch
        # with one outcome. One SELECT reads what the batch's recipients switched off, whatever
        # the batch's size, and the skipped row is recorded by an UPDATE of its own (one per
        # distinct outcome): 9.
        with django_assert_num_queries(9):
            assert process_notifications() == NOTHING | {"sent": count - 1, "skipped": 1}
        assert ScriptedBackend.sent[-(count - 1) :] == [row.pk for row in written[1:]]

    with override_settings(TASKS=DUMMY_TASKS, NOTIFY_BACKENDS=BACKENDS):
        ScriptedBackend.outcome, ScriptedBackend.sent = "sent", []
        deliver(3)
        deliver(60)
