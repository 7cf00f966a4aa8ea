"""``Channel(alias, unless=callable)``: the worker asks the condition of each row at delivery
time and skips the row when it holds (spire_notify.worker.skips.skip_by_condition)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import override_settings

from spire_notify import Channel, Message, Notifier, clock, notify
from spire_notify.models import Notification
from spire_notify.testing import isolated_notifiers
from spire_notify.worker.process import process_notifications
from tests.support.delivery_harness import DUMMY_TASKS

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
asked = []


@pytest.fixture(autouse=True)
def _isolated():
    asked.clear()
    with isolated_notifiers(), override_settings(TASKS=DUMMY_TASKS):
        yield
    clock.reset()


def on_holiday(notification):
    asked.append((notification.user.username, notification.channel))
    return notification.user.last_name == "on holiday"


def broken(notification):
    raise RuntimeError("the calendar is down")


def declare(condition, wait=None):
    class ReportReady(Notifier):
        key = "reports.ready"
        name = "Report ready"
        channels = [Channel("app"), Channel("email", wait=wait, unless=condition)]

        def recipients(self):
            return get_user_model().objects.filter(is_active=True)

        def message(self):
            return Message(event=self.key, title="Your report is ready", path="/reports/1/")

    return ReportReady


def test_the_condition_is_asked_at_delivery_and_skips_whom_it_holds_for(make_user):
    make_user("ada", last_name="on holiday")
    make_user("bob")
    declare(on_holiday)().deliver()
    assert asked == []
    counts = process_notifications()
    assert sorted(asked) == [("ada", "email"), ("bob", "email")]
    assert (counts["sent"], counts["skipped"]) == (1, 1)
    assert [message.to for message in mail.outbox] == [["bob@example.com"]]
    skipped = Notification.objects.get(channel="email", user__username="ada")
    assert skipped.status == "skipped"
    assert skipped.last_error == "Skipped: the unless condition of ReportReady on 'email' held at delivery."


def test_the_condition_is_asked_when_the_wait_is_over_not_when_written(make_user):
    ada = make_user("ada")
    with clock.frozen_at(START):
        declare(on_holiday, wait=timedelta(hours=1))().deliver()
        ada.last_name = "on holiday"
        ada.save()
        clock.advance(timedelta(hours=1))
        process_notifications()
    assert Notification.objects.get(channel="email").status == "skipped"
    assert mail.outbox == []


def test_a_condition_that_raises_is_recorded_and_retried_and_the_rest_go_out(make_user):
    make_user("ada")
    ReportReady = declare(broken)
    ReportReady().deliver()
    process_notifications()
    row = Notification.objects.get(channel="email")
    assert row.status == "errored"
    assert row.last_error == (
        "The unless condition of 'reports.ready' on 'email' raised RuntimeError: the calendar is down"
    )
    assert Notification.objects.get(channel="app").status == "sent"


def test_rows_of_other_types_are_not_asked(make_user):
    make_user("ada")
    declare(on_holiday)
    notify(Message(event="reports.other", title="Other"), get_user_model().objects.all(), channels=["email"])
    process_notifications()
    assert asked == []
    assert len(mail.outbox) == 1
