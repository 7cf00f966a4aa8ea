"""The email channel's ``failover`` option over real SMTP: two servers on 127.0.0.1 (aiosmtpd,
or a socket server for what aiosmtpd will not do), a primary that is down or refuses for now,
and a worker that sends through the next mailer within the same attempt and records which."""

import socket
import socketserver
import threading
import time

import pytest
from django.contrib.sites.models import Site
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from spire_notify import Message, clock, notification_types, notify
from spire_notify.channels.email.backend import EmailBackend
from spire_notify.channels.email.failover import FailedMailers
from spire_notify.channels.email.models import EmailNotification
from spire_notify.compat import HAS_MAILERS
from spire_notify.conf import DEFAULT_NOTIFY_BACKENDS
from spire_notify.models import Digest, Notification
from spire_notify.preferences import set_preference
from spire_notify.worker.process import process_notifications
from tests.mail_settings import SMTP
from tests.support.delivery_harness import (
    DUMMY_TASKS,
    RecordingHandler,
    SmtpServerThread,
    SmtpSink,
    free_port,
    message_id,
)
from tests.support.faulty_smtp import FaultySMTPServer

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not HAS_MAILERS, reason="failover names MAILERS aliases (Django 6.1)"),
]

MESSAGE = Message(event="test", title="Outage", body="The relay is down today.", path="/status/")


def mailers(timeout=5, **ports):
    """MAILERS with one SMTP mailer per alias, sending to 127.0.0.1:``port``."""
    return {
        alias: {"BACKEND": SMTP, "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": timeout}}
        for alias, port in ports.items()
    }


def failover_settings(*, failover="backup", connections=1, timeout=5, **ports):
    email = DEFAULT_NOTIFY_BACKENDS["email"]
    options = {**email["OPTIONS"], "connections": connections}
    if failover is not None:
        options["failover"] = failover
    return override_settings(
        TASKS=DUMMY_TASKS,
        MAILERS=mailers(timeout=timeout, **ports),
        NOTIFY_BACKENDS={**DEFAULT_NOTIFY_BACKENDS, "email": {**email, "OPTIONS": options}},
    )


def send_to(make_user, count):
    users = [make_user(f"user{i}") for i in range(count)]
    return notify(MESSAGE, {user: ["email"] for user in users})


def sent_through():
    return dict(
        Notification.objects.filter(channel="email").values_list(
            "email__to_email_address", "email__sent_through"
        )
    )


class DataRefusedHandler(RecordingHandler):
    """Takes every envelope and answers every message with a transient ``451``."""

    async def handle_DATA(self, server, session, envelope):
        return "451 4.3.0 Queue full, try later"


class BusyGreeter(socketserver.ThreadingTCPServer):
    """Greets every connection with ``421`` and closes it, as a relay at its limit does."""

    daemon_threads = True
    allow_reuse_address = True

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            self.server.greeted += 1
            self.wfile.write(b"421 4.3.2 Too many connections, try later\r\n")

    def __init__(self):
        super().__init__(("127.0.0.1", 0), self.Handler)
        self.greeted = 0
        self.port = self.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self.shutdown()
        self.server_close()


def test_a_primary_with_nothing_listening_sends_everything_through_the_backup(make_user):
    rows = send_to(make_user, 3)
    with SmtpSink() as backup, failover_settings(default=free_port(), backup=backup.port):
        assert process_notifications() == {"sent": 3, "errored": 0, "failed": 0, "skipped": 0}
    assert sorted(backup.handler.received) == sorted(
        (message_id(row), row.email.to_email_address) for row in rows
    )
    assert set(sent_through().values()) == {"backup"}
    assert {row.attempts for row in Notification.objects.all()} == {1}


def test_a_primary_that_greets_with_421_sends_through_the_backup_and_is_asked_once(make_user):
    send_to(make_user, 4)
    with BusyGreeter() as primary, SmtpSink() as backup:
        with failover_settings(default=primary.port, backup=backup.port):
            assert process_notifications()["sent"] == 4
    assert len(backup.handler.received) == 4
    assert set(sent_through().values()) == {"backup"}
    # Avoided for the rest of the batch: one greeting, not one per email.
    assert primary.greeted == 1


def test_a_primary_answering_451_to_data_sends_that_email_and_the_rest_through_the_backup(make_user):
    send_to(make_user, 3)
    with SmtpServerThread(DataRefusedHandler()) as primary, SmtpSink() as backup:
        with failover_settings(default=primary.port, backup=backup.port):
            assert process_notifications()["sent"] == 3
    assert len(backup.handler.received) == 3
    assert set(sent_through().values()) == {"backup"}


def test_a_recipient_refused_with_550_fails_as_before_and_is_not_sent_through_the_backup(make_user):
    send_to(make_user, 2)
    reply = "550 5.1.1 <user1@example.com>: Recipient address rejected: User unknown"
    with SmtpSink(refuse={"user1@example.com": reply}) as primary, SmtpSink() as backup:
        with failover_settings(default=primary.port, backup=backup.port):
            assert process_notifications() == {"sent": 1, "errored": 0, "failed": 1, "skipped": 0}
    assert backup.handler.received == []
    refused = Notification.objects.get(email__to_email_address="user1@example.com")
    assert (refused.status, refused.last_error) == ("failed", f"SMTPRecipientsRefused: {reply}")
    assert sent_through() == {"user0@example.com": "default", "user1@example.com": ""}


def test_when_every_mailer_is_down_the_row_is_retried_and_its_error_names_each(make_user):
    [row] = send_to(make_user, 1)
    with failover_settings(default=free_port(), backup=free_port()):
        assert process_notifications() == {"sent": 0, "errored": 1, "failed": 0, "skipped": 0}
    row.refresh_from_db()
    refused = "ConnectionRefusedError: [Errno 111] Connection refused"
    assert (row.status, row.last_error) == (
        "errored",
        f"EveryMailerFailed: every mailer failed: 'default': {refused}; 'backup': {refused}",
    )
    assert sent_through() == {"user0@example.com": ""}


def test_a_list_of_mailers_is_tried_in_turn(make_user):
    send_to(make_user, 2)
    with (
        SmtpSink() as third,
        failover_settings(
            failover=["backup", "third"], default=free_port(), backup=free_port(), third=third.port
        ),
    ):
        assert process_notifications()["sent"] == 2
    assert set(sent_through().values()) == {"third"}


def test_a_primary_that_never_answers_costs_its_timeout_once_per_batch_not_per_email(make_user):
    send_to(make_user, 6)
    with FaultySMTPServer("silent") as primary, SmtpSink() as backup:
        with failover_settings(default=primary.port, backup=backup.port, timeout=1):
            started = time.monotonic()
            assert process_notifications()["sent"] == 6
            elapsed = time.monotonic() - started
    # One timeout (1 s) and six emails to a local sink; one timeout per email would be 6 s.
    assert elapsed < 3, elapsed
    assert primary.connections == 1


def test_the_connections_of_a_batch_share_what_failed_so_the_batch_waits_one_timeout(make_user):
    send_to(make_user, 12)
    with FaultySMTPServer("silent") as primary, SmtpSink() as backup:
        with failover_settings(connections=4, default=primary.port, backup=backup.port, timeout=1):
            started = time.monotonic()
            assert process_notifications()["sent"] == 12
            elapsed = time.monotonic() - started
    # The connections meet the silent primary side by side, about 1 s together; a mailer found
    # down by one is not tried by another that starts after. Waiting for it twice is over 2 s.
    assert elapsed < 1.8, elapsed
    assert primary.connections <= 4
    assert set(sent_through().values()) == {"backup"}


def test_each_connection_of_a_batch_fails_over(make_user):
    send_to(make_user, 8)
    with SmtpSink() as backup, failover_settings(connections=4, default=free_port(), backup=backup.port):
        assert process_notifications()["sent"] == 8
    assert len(backup.handler.received) == 8
    assert set(sent_through().values()) == {"backup"}


def test_the_next_batch_tries_the_primary_first_again(make_user):
    port = free_port()
    send_to(make_user, 1)
    with SmtpSink() as backup, failover_settings(default=port, backup=backup.port):
        assert process_notifications()["sent"] == 1
        with SmtpSink(port=port) as primary:
            notify(MESSAGE, {make_user("later"): ["email"]})
            assert process_notifications()["sent"] == 1
    assert len(primary.handler.received) == 1
    assert sent_through() == {"user0@example.com": "backup", "later@example.com": "default"}


def queries_of_one_batch(make_user, prefix, **settings):
    for i in range(4):
        notify(MESSAGE, {make_user(f"{prefix}{i}"): ["email"]})
    # The current Site is cached after the first batch of a process: not a query to count here.
    Site.objects.get_current()
    with failover_settings(**settings), CaptureQueriesContext(connection) as queries:
        assert process_notifications()["sent"] == 4
    return len(queries)


def test_sent_through_costs_one_update_per_mailer_and_nothing_without_failover(make_user):
    # 451 to one recipient, at RCPT: that email and the rest of the batch go through the backup.
    later = {"split2@example.com": "451 4.7.1 Greylisted, try later"}
    with SmtpSink(refuse=later) as primary, SmtpSink() as backup:
        ports = {"default": primary.port, "backup": backup.port}
        without = queries_of_one_batch(make_user, "plain", failover=None, **ports)
        one_mailer = queries_of_one_batch(make_user, "one", **ports)
        two_mailers = queries_of_one_batch(make_user, "split", **ports)
    # What a batch of four cost on main before failover existed (measured there): unchanged.
    assert without == 13
    assert (one_mailer, two_mailers) == (without + 1, without + 2)
    assert {address: mailer for address, mailer in sent_through().items() if address.startswith("split")} == {
        "split0@example.com": "default",
        "split1@example.com": "default",
        "split2@example.com": "backup",
        "split3@example.com": "backup",
    }
    assert {mailer for address, mailer in sent_through().items() if address.startswith("plain")} == {""}


@pytest.fixture
def digest_type():
    notification_types.register("shop.order", name="Orders", default_channels=["email"])
    yield "shop.order"
    notification_types.unregister("shop.order")
    clock.reset()


def test_a_digest_fails_over_too_and_its_items_say_which_mailer_sent_them(make_user, digest_type):
    user = make_user("ada")
    set_preference(user, digest_type, "email", "digest")
    with clock.frozen_at(clock.now()):
        for number in (1, 2):
            notify(
                Message(event=digest_type, title=f"Order #{number}", body="Paid", path="/o/"),
                {user: ["email"]},
            )
        clock.advance(2 * 24 * 3600)
        with SmtpSink() as backup, failover_settings(default=free_port(), backup=backup.port):
            assert process_notifications()["sent"] == 2
    assert Digest.objects.get().status == "sent"
    assert len(backup.handler.received) == 1
    assert list(Notification.objects.values_list("email__sent_through", flat=True)) == ["backup", "backup"]


def test_a_socket_server_greeting_421_is_a_real_smtp_server():
    # The primary of the 421 test refuses as Django's mailer sees it, not by closing silently.
    with BusyGreeter() as server, socket.create_connection(("127.0.0.1", server.port)) as client:
        assert client.recv(100).startswith(b"421 ")


def test_an_aborted_session_does_not_fail_over_what_was_on_the_wire():
    # A stop drops the batch's connections from the worker's thread while a lane is sending: the
    # email cut off is not sent through the backup behind the stop, where no one records it.
    sending_email, stopped = threading.Event(), threading.Event()
    handed_to = []

    def hand(mail_session):
        if mail_session.alias == "default":
            sending_email.set()
            stopped.wait(5)
            raise ConnectionResetError("the stop dropped the connection")
        handed_to.append(mail_session.alias)

    with SmtpSink() as primary, SmtpSink() as backup:
        with failover_settings(default=primary.port, backup=backup.port):
            backend = EmailBackend(alias="email", failover="backup")
            session = backend.open()
            failed = FailedMailers()
            raised = []
            sending = threading.Thread(target=lambda: _catch(raised, session.send, hand, failed))
            sending.start()
            assert sending_email.wait(5)
            backend.abort(session)
            stopped.set()
            sending.join(5)
    assert [str(error) for error in raised] == ["the stop dropped the connection"]
    assert handed_to == []
    # Nor is the primary given up for the batch: the stop was what failed.
    assert failed.first_working(("default", "backup")) == "default"


def _catch(raised, call, *args):
    try:
        call(*args)
    except Exception as error:
        raised.append(error)


def test_a_session_stopped_before_its_first_email_opens_no_mailer():
    # A failover opens its mailer with its first email: a stop that came first leaves it shut.
    with SmtpSink() as primary, SmtpSink() as backup:
        with failover_settings(default=primary.port, backup=backup.port):
            backend = EmailBackend(alias="email", failover="backup")
            session = backend.open()
            backend.abort(session)
            handed_to = []
            with pytest.raises(ConnectionAbortedError, match="^the batch was stopped$"):
                session.send(lambda mail_session: handed_to.append(mail_session.alias), FailedMailers())
    assert handed_to == []
    assert session.current is None


def test_an_email_row_written_without_sent_through_gets_it_from_the_database(make_user):
    # Code from before the column (a worker still running mid-deploy) and SQL of a project's own
    # (the bench's bare INSERT … SELECT) write the email row without it: the database fills it.
    [row] = notify(MESSAGE, {make_user("ada"): ["email"]})
    table = connection.ops.quote_name(EmailNotification._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(
            f"INSERT INTO {table} (notification_id, to_email_address) VALUES (%s, %s)",
            [row.pk, "ada@example.com"],
        )
    assert sent_through() == {"ada@example.com": ""}
