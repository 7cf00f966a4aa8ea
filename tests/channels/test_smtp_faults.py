"""Faults of a real SMTP server (aiosmtpd on 127.0.0.1): down, refusing, slow."""

import socket
import threading
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from spire_notify.models import Notification
from spire_notify.worker.process import process_notifications
from tests.mail_settings import smtp_settings
from tests.support.delivery_harness import (
    DUMMY_TASKS,
    SmtpSink,
    free_port,
    message_id,
    seed_email_notifications,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("dummy_tasks")]


@pytest.fixture
def dummy_tasks():
    with override_settings(TASKS=DUMMY_TASKS):
        yield


def smtp_at(port, timeout=10):
    return override_settings(**smtp_settings(port, timeout=timeout))


def time_passes():
    """What the clock would do: every errored row's next attempt becomes due."""
    Notification.objects.filter(status="errored").update(next_attempt_at=timezone.now())


def test_server_down_then_up_errored_then_sent():
    [notification] = seed_email_notifications(1)
    port = free_port()
    with smtp_at(port):
        before = timezone.now()
        assert process_notifications() == {"sent": 0, "errored": 1, "failed": 0, "skipped": 0}
        notification.refresh_from_db()
        assert notification.status == "errored"
        assert notification.attempts == 1
        assert notification.last_error == "ConnectionRefusedError: [Errno 111] Connection refused"
        # First retry: between half and all of the 60 s base delay.
        assert (
            before + timedelta(seconds=30)
            <= notification.next_attempt_at
            <= timezone.now() + timedelta(seconds=60)
        )
        # Not due yet: a run now leaves it alone.
        assert process_notifications() == {"sent": 0, "errored": 0, "failed": 0, "skipped": 0}

        with SmtpSink(port=port) as sink:
            time_passes()
            assert process_notifications() == {"sent": 1, "errored": 0, "failed": 0, "skipped": 0}
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.last_error) == ("sent", 2, "")
    assert notification.sent_at is not None
    assert sink.handler.received == [(message_id(notification), "recipient0@example.net")]


def test_550_fails_that_recipient_at_once_with_the_server_reply_and_spares_the_others():
    notifications = seed_email_notifications(3)
    refused = "recipient1@example.net"
    reply = f"550 5.1.1 <{refused}>: Recipient address rejected: User unknown"
    with SmtpSink(refuse={refused: reply}) as sink, smtp_at(sink.port):
        assert process_notifications() == {"sent": 2, "errored": 0, "failed": 1, "skipped": 0}
    rows = {row.email.to_email_address: row for row in Notification.objects.select_related("email")}
    assert rows[refused].status == "failed"
    assert rows[refused].attempts == 1
    assert rows[refused].last_error == f"SMTPRecipientsRefused: {reply}"
    assert {rows[f"recipient{i}@example.net"].status for i in (0, 2)} == {"sent"}
    assert sorted(sink.handler.received) == sorted(
        (message_id(row), row.email.to_email_address)
        for row in notifications
        if row.email.to_email_address != refused
    )


def test_4xx_is_temporary_and_retried_until_the_last_attempt_fails_it():
    [notification] = seed_email_notifications(1)
    reply = "451 4.3.0 <recipient0@example.net>: Temporary lookup failure"
    with (
        SmtpSink(refuse={"recipient0@example.net": reply}) as sink,
        smtp_at(sink.port),
        override_settings(NOTIFY_MAX_ATTEMPTS=3),
    ):
        outcomes = []
        for _ in range(3):
            outcomes.append(process_notifications())
            time_passes()
    assert outcomes == [
        {"sent": 0, "errored": 1, "failed": 0, "skipped": 0},
        {"sent": 0, "errored": 1, "failed": 0, "skipped": 0},
        {"sent": 0, "errored": 0, "failed": 1, "skipped": 0},
    ]
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("failed", 3)
    assert notification.last_error == f"SMTPRecipientsRefused: {reply}"


def test_a_server_that_never_answers_times_out_and_is_retried():
    [notification] = seed_email_notifications(1)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        accepted = []
        threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()
        with smtp_at(silent.getsockname()[1], timeout=0.5):
            assert process_notifications() == {"sent": 0, "errored": 1, "failed": 0, "skipped": 0}
        for connection, _ in accepted:
            connection.close()
    notification.refresh_from_db()
    # smtplib reports the timeout of the greeting as a lost connection.
    assert (notification.status, notification.last_error) == (
        "errored",
        "smtplib.SMTPServerDisconnected: Connection unexpectedly closed: timed out",
    )
