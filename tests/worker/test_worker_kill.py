"""A worker killed with SIGKILL in the middle of a batch loses nothing: once its lease
expires another worker delivers the rest. The only duplicates are messages of the killed
worker's last batch that the SMTP server accepted before the kill: the window the docs name.

Figures: ``pytest tests/worker/test_worker_kill.py -s``.
"""

import signal
import socket
import threading
import time
from collections import Counter

from django.test import override_settings

from spire_notify.models import Notification
from tests.support.delivery_harness import (
    DUMMY_TASKS,
    RecordingHandler,
    SmtpServerThread,
    SmtpSink,
    finish,
    manage,
    message_id,
    seed_email_notifications,
    shared_db,
    wait_until,
    worker_env,
)

__all__ = ["shared_db"]

NOTIFICATIONS = 200
BATCH_SIZE = 50
LEASE_SECONDS = 5


@override_settings(TASKS=DUMMY_TASKS)
def test_sigkill_mid_batch_then_another_worker_delivers_every_remaining_notification(shared_db):
    seeded = seed_email_notifications(NOTIFICATIONS)
    # 20 ms per message makes a batch last a second: long enough to be killed inside it.
    with SmtpSink(delay=0.02) as sink:
        env = worker_env(shared_db, smtp_port=sink.port, lease_seconds=LEASE_SECONDS)
        started = time.monotonic()
        doomed = manage("process_notifications", "--batch-size", str(BATCH_SIZE), env=env)
        wait_until(
            lambda: sum(sink.handler.message_ids().values()) >= 10,
            timeout=60,
            message="the first worker to send ten messages",
        )
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate(timeout=30)
        assert doomed.returncode == -signal.SIGKILL
        sink.wait_for_every_session_to_end()
        accepted_before_kill = set(sink.handler.message_ids())
        abandoned = set(Notification.objects.filter(status="processing").values_list("pk", flat=True))
        assert 0 < len(abandoned) <= BATCH_SIZE

        survivor = manage(
            "process_notifications",
            "--loop",
            "--interval",
            "0.2",
            "--batch-size",
            str(BATCH_SIZE),
            env=env,
        )
        wait_until(
            lambda: not Notification.objects.exclude(status="sent").exists(),
            timeout=120,
            message="every notification to be sent",
        )
        elapsed = time.monotonic() - started
        survivor.send_signal(signal.SIGTERM)
        finish(survivor)
    received = sink.handler.message_ids()
    duplicated = {message for message, count in received.items() if count > 1}
    print(
        f"\n[kill] {NOTIFICATIONS} notifications, 1 worker SIGKILLed after "
        f"{len(accepted_before_kill)} accepted, {len(abandoned)} rows left processing, "
        f"1 survivor (lease {LEASE_SECONDS}s): {len(received)} distinct Message-IDs, "
        f"{sum(received.values()) - len(received)} duplicates, {elapsed:.1f}s"
    )
    assert set(received) == {message_id(notification) for notification in seeded}
    # Duplicates come only from the killed batch, and only once each.
    assert duplicated <= {f"<notification.{pk}@example.com>" for pk in abandoned} & accepted_before_kill
    assert max(received.values()) <= 2
    assert Counter(Notification.objects.values_list("status", flat=True)) == {"sent": NOTIFICATIONS}
    # The abandoned rows were attempted twice: once by the killed worker, once by the survivor.
    assert set(Notification.objects.filter(pk__in=abandoned).values_list("attempts", flat=True)) == {2}


class SlowToRecordHandler(RecordingHandler):
    """Holds the server's event loop for a moment inside DATA, as a busy server thread does."""

    def __init__(self):
        super().__init__()
        self.in_data = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.in_data.set()
        time.sleep(0.3)  # blocking on purpose: nothing else on the server's loop runs meanwhile
        return await super().handle_DATA(server, session, envelope)


def test_what_a_client_finished_writing_before_it_died_is_counted_once_the_server_has_seen_it_go():
    # The kill tests above once read "what the server accepted before the kill" the moment the
    # killed worker was reaped; with several connections, a message a connection had finished
    # writing was recorded by the server's thread milliseconds later, and counted as a duplicate
    # nothing explained. The server reads and accepts what a dead client wrote: ask after it
    # has seen every connection close.
    with SmtpServerThread(SlowToRecordHandler()) as server:
        client = socket.create_connection(("127.0.0.1", server.port))
        replies = client.makefile("rb")

        def say(line):
            client.sendall(line)
            return replies.readline()

        replies.readline()  # greeting
        say(b"HELO client\r\n")
        say(b"MAIL FROM:<sender@example.com>\r\n")
        say(b"RCPT TO:<recipient@example.net>\r\n")
        say(b"DATA\r\n")
        client.sendall(b"Message-ID: <written.1@example.com>\r\nSubject: s\r\n\r\nbody\r\n.\r\n")
        assert server.handler.in_data.wait(10)
        replies.close()
        client.close()  # gone before the reply, as a SIGKILLed worker is

        assert set(server.handler.message_ids()) == set()  # too early to tell
        server.wait_for_every_session_to_end()
        assert set(server.handler.message_ids()) == {"<written.1@example.com>"}
