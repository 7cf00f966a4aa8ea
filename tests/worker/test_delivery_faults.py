"""The delivery faults found by attacking the worker (issue 10), each reproduced against real parts:
worker subprocesses, the test database (SQLite file or PostgreSQL), and SMTP servers on 127.0.0.1
that are slow, silent, stalled or rude on purpose.
"""

import signal
import time
from collections import Counter

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.test import override_settings

from spire_notify import Message, notify
from spire_notify.models import Notification
from spire_notify.worker.process import process_notifications
from tests.mail_settings import email_connections, mailer_settings
from tests.support.delivery_harness import (
    DUMMY_TASKS,
    SmtpSink,
    finish,
    manage,
    message_id,
    seed_email_notifications,
    shared_db,
    worker_env,
)
from tests.support.django_versions import refuses_non_ascii_local_part
from tests.support.faulty_smtp import FaultySMTPServer

__all__ = ["shared_db"]

MESSAGE = Message(event="test", title="Deploy finished", body="All green.", path="/deploys/7/")
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def statuses():
    return Counter(Notification.objects.values_list("status", flat=True))


# 1. A batch that outlives its lease is sent twice.


@override_settings(TASKS=DUMMY_TASKS)
def test_a_batch_slower_than_its_lease_is_never_sent_twice(shared_db):
    """12 emails, a server that takes 1 s each, a 4 s lease, and a second worker 5.5 s later:
    the first worker keeps its claim while it sends, so the second finds nothing to take."""
    seeded = seed_email_notifications(12)
    with SmtpSink(delay=1.0) as sink:
        env = worker_env(shared_db, smtp_port=sink.port, smtp_timeout=1.5, lease_seconds=4)
        first = manage("process_notifications", "--batch-size", "12", env=env)
        time.sleep(5.5)
        second = manage("process_notifications", "--batch-size", "12", env=env)
        finish(second, timeout=60)
        finish(first, timeout=60)
        received = sink.handler.message_ids()
    assert received == Counter({message_id(row): 1 for row in seeded})
    assert statuses() == {"sent": 12}


# 2. No SMTP timeout by default; SIGTERM ignored mid-send.


@pytest.mark.django_db
def test_a_server_that_never_greets_times_out_with_the_backends_own_timeout(make_user):
    """The mailer sets no timeout: the email backend applies its own, and the row is retried."""
    with (
        FaultySMTPServer("silent") as server,
        override_settings(
            TASKS=DUMMY_TASKS,
            **server.mail_settings(timeout=None),
            NOTIFY_BACKENDS={
                "email": {
                    "BACKEND": "spire_notify.channels.email.backend.EmailBackend",
                    "OPTIONS": {"timeout": 1},
                }
            },
        ),
    ):
        [row] = notify(MESSAGE, {make_user("ada"): ["email"]})
        started = time.monotonic()
        assert process_notifications() == {"sent": 0, "errored": 1, "failed": 0, "skipped": 0}
        elapsed = time.monotonic() - started
    row.refresh_from_db()
    assert row.status == "errored"
    assert "timed out" in row.last_error
    assert elapsed < 5


def test_without_a_mailer_timeout_the_check_warns_and_says_what_applies():
    from django.core.checks import run_checks

    with override_settings(**mailer_settings(SMTP, host="127.0.0.1")):
        warnings = [message for message in run_checks() if message.id == "spire_notify.W010"]
    assert [warning.msg for warning in warnings] == [
        "NOTIFY_BACKENDS['email']: the mailer 'default' sets no timeout; spire-notify applies 30 s to "
        "each of its network operations."
    ]


def test_a_mailer_timeout_over_half_the_lease_is_warned_of():
    from django.core.checks import run_checks

    with override_settings(**mailer_settings(SMTP, host="127.0.0.1", timeout=200), NOTIFY_LEASE_SECONDS=300):
        ids = [message.id for message in run_checks() if message.id.startswith("spire_notify.W01")]
    assert ids == ["spire_notify.W011"]


@override_settings(TASKS=DUMMY_TASKS)
def test_sigterm_stops_a_worker_stuck_after_data_within_the_grace_and_hands_its_rows_back(shared_db):
    seed_email_notifications(5)
    with FaultySMTPServer("stall_after_data") as server:
        env = worker_env(shared_db, smtp_port=server.port, smtp_timeout=120, stop_grace_seconds=1)
        worker = manage("process_notifications", "--loop", "--interval", "0.2", env=env)
        assert server.stalled.wait(timeout=30), "the worker never reached DATA"
        stopped_at = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        output = finish(worker, timeout=30)
        took = time.monotonic() - stopped_at
    assert took < 5, f"the worker took {took:.1f}s to stop"
    assert "Stopped" in output
    rows = list(Notification.objects.values_list("status", "attempts", "claimed_by"))
    # Nothing is left "processing" for a lease to free, and no attempt was spent on a stop.
    assert rows == [("pending", 0, "")] * 5


# 3 and 5 (webhooks) are in tests/channels/test_backend_webhook.py.

# 4. One poison row kills the worker and the innocent rows around it.


@pytest.mark.django_db
@override_settings(TASKS=DUMMY_TASKS)
def test_a_row_whose_target_model_is_gone_fails_alone_and_the_batch_is_delivered(make_user, mailoutbox):
    users = [make_user(f"u{i}") for i in range(5)]
    rows = notify(MESSAGE, {user: ["email"] for user in users})
    gone = ContentType.objects.create(app_label="removed_app", model="vanished")
    Notification.objects.filter(pk=rows[2].pk).update(content_type=gone, object_id="1")
    for _ in range(3):  # a worker in --loop runs again and again: each run is the same
        process_notifications()
    poison = Notification.objects.get(pk=rows[2].pk)
    assert (poison.status, poison.attempts, poison.last_error) == (
        "failed",
        1,
        "the target's model removed_app.vanished no longer exists",
    )
    assert statuses() == {"sent": 4, "failed": 1}
    assert len(mailoutbox) == 4


# 7. Inactive users are notified.


@pytest.mark.django_db
@override_settings(TASKS=DUMMY_TASKS)
def test_inactive_users_get_no_row_at_all(make_user):
    active, inactive = make_user("active"), make_user("gone", is_active=False)
    written = notify(MESSAGE, {active: ["app", "email"], inactive: ["app", "email"]})
    assert {row.user for row in written} == {active}
    assert not Notification.objects.filter(user=inactive).exists()


@pytest.mark.django_db
@override_settings(TASKS=DUMMY_TASKS)
def test_a_user_deactivated_after_the_write_is_skipped_with_nothing_sent(make_user, mailoutbox):
    from spire_notify.store.signals import notification_skipped

    user = make_user("leaver")
    [row] = notify(MESSAGE, {user: ["email"]})
    user.is_active = False
    user.save()
    skipped = []
    notification_skipped.connect(lambda notification, reason, **kw: skipped.append(reason), weak=False)
    try:
        assert process_notifications() == {"sent": 0, "errored": 0, "failed": 0, "skipped": 1}
    finally:
        notification_skipped.receivers.clear()
    row.refresh_from_db()
    assert (row.status, row.last_error) == (
        "skipped",
        "Skipped: the user was deactivated after the notification was written.",
    )
    assert skipped == [row.last_error]
    assert mailoutbox == []


# 9. A 421 reply is throttling: the row goes back to the queue without spending an attempt.


@pytest.mark.django_db
def test_a_421_closes_the_connection_and_the_next_message_goes_over_a_new_one(make_user):
    with (
        FaultySMTPServer("close_with_421") as server,
        # One connection: the point is what follows the 421 on the connection it closed.
        override_settings(TASKS=DUMMY_TASKS, **server.mail_settings(timeout=5), **email_connections(1)),
    ):
        rows = notify(MESSAGE, {make_user(name): ["email"] for name in ("a", "b", "c")})
        counts = process_notifications()
        connections = server.connections
    assert counts == {"sent": 2, "errored": 0, "failed": 0, "skipped": 0, "throttled": 1}
    first, *rest = sorted(rows, key=lambda row: row.pk)
    first.refresh_from_db()
    assert (first.status, first.attempts, first.throttles, first.last_error) == (
        "pending",
        0,
        1,
        "SMTPDataError: 421 faulty.example closing the channel",
    )
    assert sorted(server.received) == sorted(message_id(row) for row in rest)
    assert connections == 2


# 10. Errors that cannot go away are retried for 15 minutes before they fail.


@pytest.mark.django_db
@override_settings(TASKS=DUMMY_TASKS)
@pytest.mark.parametrize(
    ("address", "error"),
    [
        (
            "ann@example.com, bob@example.com",
            "Undeliverable: the address 'ann@example.com, bob@example.com' is not exactly one email address",
        ),
        (
            "ann@example.com\r\nBcc: everyone@example.com",
            "Undeliverable: the address 'ann@example.com\\r\\nBcc: everyone@example.com' contains a line break",
        ),
    ],
    ids=["comma-list", "crlf"],
)
def test_an_address_that_is_not_one_mailbox_fails_at_once(make_user, mailoutbox, address, error):
    [row] = notify(MESSAGE, {make_user("ann", email=address): ["email"]})
    assert process_notifications() == {"sent": 0, "errored": 0, "failed": 1, "skipped": 0}
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, error)
    assert mailoutbox == []


@pytest.mark.django_db
@refuses_non_ascii_local_part
def test_a_non_ascii_local_part_to_a_server_without_smtputf8_fails_at_once(make_user):
    with (
        FaultySMTPServer("ok") as server,
        override_settings(TASKS=DUMMY_TASKS, **server.mail_settings(timeout=5)),
    ):
        [row] = notify(MESSAGE, {make_user("jorg", email="jörg@example.com"): ["email"]})
        assert process_notifications() == {"sent": 0, "errored": 0, "failed": 1, "skipped": 0}
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (
        "failed",
        1,
        "ValueError: Invalid address 'jörg@example.com': local-part contains non-ASCII characters)",
    )
    assert server.received == []


@pytest.mark.django_db
@override_settings(TASKS=DUMMY_TASKS)
def test_a_template_that_does_not_exist_fails_at_once(make_user, tmp_path):
    # notify() refuses a template that does not exist; one gone by delivery (a deploy that
    # dropped it) fails at the worker.
    (tmp_path / "nowhere").mkdir()
    (tmp_path / "nowhere/email.html").write_text("{% block subject %}Hi{% endblock %}")
    message = Message(event="test", title="Hi", template="nowhere/email.html")
    engine = {"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [tmp_path]}
    with override_settings(TEMPLATES=[engine]):
        [row] = notify(message, {make_user("ann"): ["email"]})
    assert process_notifications() == {"sent": 0, "errored": 0, "failed": 1, "skipped": 0}
    row.refresh_from_db()
    assert (row.status, row.last_error) == (
        "failed",
        "Undeliverable: the email template nowhere/email.html does not exist",
    )


# 11. Input checks through notify().


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("message", "errors"),
    [
        (
            Message(event="test", title="T" * 300),
            {"title": ["title has 300 characters; at most 255 are stored."]},
        ),
        (
            Message(event="test", title="Hello", body="nul \x00 here"),
            {"body": ["the message contains a NUL character (U+0000), which cannot be stored."]},
        ),
        (
            Message(event="test", title="Hello", context={"note": "nul \x00 here"}),
            {"body": ["the message contains a NUL character (U+0000), which cannot be stored."]},
        ),
    ],
    ids=["long-title", "nul-in-body", "nul-in-context"],
)
def test_notify_refuses_what_the_database_cannot_store_and_writes_nothing(make_user, message, errors):
    with pytest.raises(ValidationError) as raised:
        notify(message, {make_user("ann"): ["app", "email"]})
    assert raised.value.message_dict == errors
    assert not Notification.objects.exists()


# A slow channel holds only its own rows.


@pytest.mark.django_db
def test_a_channel_is_claimed_alone_so_a_slow_one_holds_no_rows_of_another(make_user):
    from tests.support.delivery_backends import ScriptedBackend

    seen_while_sending = []

    class Watching(ScriptedBackend):
        def send(self, deliveries, *, guard=None):
            seen_while_sending.append(
                Counter(Notification.objects.filter(channel="other").values_list("status", flat=True))
            )
            return super().send(deliveries)

    backends = {
        "slow": {"BACKEND": "tests.worker.test_delivery_faults.WatchingBackend"},
        "other": {"BACKEND": "tests.support.delivery_backends.ScriptedBackend"},
    }
    global WatchingBackend
    WatchingBackend = Watching
    with override_settings(TASKS=DUMMY_TASKS, NOTIFY_BACKENDS=backends):
        ScriptedBackend.outcome, ScriptedBackend.sent = "sent", []
        notify(MESSAGE, {make_user(f"u{i}"): ["slow", "other"] for i in range(3)})
        assert process_notifications()["sent"] == 6
    # While the slow channel sent, the other channel's rows were not claimed: free for any worker.
    assert seen_while_sending == [Counter({"pending": 3})]


WatchingBackend = None


# 6. Comment bodies reach people who have lost access: delivery checks again.


@pytest.mark.django_db
@override_settings(TASKS=DUMMY_TASKS)
def test_a_developer_removed_from_admins_before_delivery_is_skipped(developer, create_ticket, mailoutbox):
    ticket = create_ticket()
    mailoutbox.clear()
    message = ticket.services.notification.build_message("new")
    [row] = notify(message, {developer: ["email"]})
    with override_settings(ADMINS=[]):
        # The row written here, and the one the ticket's creation wrote, both for the developer.
        assert process_notifications() == {"sent": 0, "errored": 0, "failed": 0, "skipped": 2}
    row.refresh_from_db()
    assert (row.status, row.last_error) == (
        "skipped",
        "Skipped: the user may no longer see what the notification is about.",
    )
    assert mailoutbox == []
