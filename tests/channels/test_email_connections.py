"""The email channel's ``connections`` option over real SMTP: a worker's batch goes to an
aiosmtpd server on 127.0.0.1 over several connections at once, each row sent and recorded once."""

import asyncio
import email
import email.policy

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.test import override_settings

from spire_notify import Message, notify
from spire_notify.models import Notification
from spire_notify.worker.process import process_notifications
from tests.channels.test_email_smtp import free_port
from tests.mail_settings import LOCMEM, email_connections, mailer_settings, smtp_settings

pytestmark = pytest.mark.django_db

MESSAGE = Message(event="test", title="Outage", body="The relay is slow today.", path="/status/")
DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


class MeetingHandler:
    """Accepts every email, but answers a DATA only once ``together`` sessions are inside a
    DATA at the same time (or 5 s have passed): a sender that does not use its connections side
    by side waits 5 s per email, and ``most_at_once`` says how many met."""

    def __init__(self, together):
        self.together = together
        self.in_data = 0
        self.most_at_once = 0
        self.met = None
        self.message_ids = []
        self.peers = set()

    async def handle_DATA(self, server, session, envelope):
        self.met = self.met or asyncio.Event()
        self.in_data += 1
        self.most_at_once = max(self.most_at_once, self.in_data)
        if self.in_data >= self.together:
            self.met.set()
        try:
            await asyncio.wait_for(self.met.wait(), timeout=5)
        except TimeoutError:
            pass
        self.in_data -= 1
        self.peers.add(session.peer)
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.message_ids.append(str(parsed["Message-ID"]))
        return "250 OK"


@pytest.fixture
def meeting_server():
    handler = MeetingHandler(together=4)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with override_settings(TASKS=DUMMY_TASKS, DEBUG=False, **smtp_settings(controller.port)):
            yield handler
    finally:
        controller.stop()


def test_a_worker_sends_a_batch_over_four_connections_at_once_and_records_each_row_once(
    meeting_server, make_user
):
    with override_settings(**email_connections(4)):
        rows = notify(MESSAGE, {make_user(f"user{i}"): ["email"] for i in range(12)})
        assert process_notifications() == {"sent": 12, "errored": 0, "failed": 0, "skipped": 0}
    assert meeting_server.most_at_once == 4
    assert len(meeting_server.peers) == 4
    # Each row once, by its own Message-ID: nothing sent twice, nothing left out.
    domain = "example.com"
    assert sorted(meeting_server.message_ids) == sorted(f"<notification.{row.pk}@{domain}>" for row in rows)
    assert set(Notification.objects.filter(channel="email").values_list("status", flat=True)) == {"sent"}


def test_the_default_is_four_connections(meeting_server, make_user):
    notify(MESSAGE, {make_user(f"user{i}"): ["email"] for i in range(8)})
    assert process_notifications()["sent"] == 8
    assert meeting_server.most_at_once == 4


@override_settings(TASKS=DUMMY_TASKS, **mailer_settings(LOCMEM), **email_connections(4))
def test_a_local_mailer_keeps_one_connection_and_the_batchs_order(make_user):
    rows = notify(MESSAGE, {make_user(f"user{i}"): ["email"] for i in range(6)})
    assert process_notifications()["sent"] == 6
    assert [message.extra_headers["Message-ID"] for message in mail.outbox] == [
        f"<notification.{row.pk}@example.com>" for row in sorted(rows, key=lambda row: row.pk)
    ]
