"""``notification_sent`` and ``notification_failed``, sent robustly."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from spire_notify.message import Message
from spire_notify.models import Notification
from spire_notify.store.signals import notification_failed, notification_sent
from spire_notify.worker.claims import ABANDONED_ON_LAST_ATTEMPT
from spire_notify.worker.process import process_notifications
from spire_notify.write.notify import notify
from tests.support.delivery_backends import ScriptedBackend
from tests.support.delivery_harness import DUMMY_TASKS

MESSAGE = Message(event="test", title="Deploy finished", path="/deploys/7/")

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("configured")]


@pytest.fixture
def configured():
    backends = {"scripted": {"BACKEND": "tests.support.delivery_backends.ScriptedBackend"}}
    with override_settings(TASKS=DUMMY_TASKS, NOTIFY_BACKENDS=backends):
        ScriptedBackend.outcome, ScriptedBackend.sent = "sent", []
        yield


@pytest.fixture
def received():
    calls = []

    def on_sent(sender, notification, **kwargs):
        calls.append(("sent", notification.pk, notification.status))

    def on_failed(sender, notification, error, **kwargs):
        calls.append(("failed", notification.pk, error))

    notification_sent.connect(on_sent)
    notification_failed.connect(on_failed)
    yield calls
    notification_sent.disconnect(on_sent)
    notification_failed.disconnect(on_failed)


def test_sent_once_per_delivered_notification(make_user, received):
    rows = notify(MESSAGE, {make_user("a"): ["scripted"], make_user("b"): ["scripted"]})
    process_notifications()
    assert sorted(received) == sorted(("sent", row.pk, "sent") for row in rows)


def test_failed_only_when_given_up_not_when_retried(make_user, received):
    [row] = notify(MESSAGE, {make_user("a"): ["scripted"]})
    ScriptedBackend.outcome = "temporary"
    process_notifications()
    assert received == []
    ScriptedBackend.outcome = "permanent"
    Notification.objects.update(next_attempt_at=timezone.now())
    process_notifications()
    assert received == [("failed", row.pk, "550 scripted: no such user")]


def test_failed_for_a_row_whose_worker_died_on_its_last_attempt(make_user, received):
    row = Notification.objects.create(
        user=make_user("a"),
        channel="scripted",
        title="t",
        status="processing",
        attempts=5,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert process_notifications() == {"sent": 0, "errored": 0, "failed": 1, "skipped": 0}
    assert received == [("failed", row.pk, ABANDONED_ON_LAST_ATTEMPT)]


def test_a_broken_receiver_is_logged_and_delivery_goes_on(make_user, received, caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    notification_sent.connect(broken)
    try:
        rows = notify(MESSAGE, {make_user("a"): ["scripted"], make_user("b"): ["scripted"]})
        caplog.clear()  # notify()'s warning: MESSAGE's event is not a registered type
        assert process_notifications() == {"sent": 2, "errored": 0, "failed": 0, "skipped": 0}
    finally:
        notification_sent.disconnect(broken)
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert len(received) == 2
    assert [record.getMessage() for record in caplog.records if record.name == "spire_notify"] == [
        f"Signal receiver {broken!r} raised RuntimeError: receiver bug"
    ] * len(rows)
