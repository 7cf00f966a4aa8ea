"""Issue 12 end to end: escalation and digests through the real worker (``process_notifications``
in a subprocess) and a real SMTP server (aiosmtpd). Time moves with the worker's clock
(``SPIRE_DELIVERY_CLOCK_OFFSET``), not with sleeps. On SQLite (a shared file) and PostgreSQL.

Issue 18, items 7 and 8, the same way: a deferred email is not sent after the one-click
unsubscribe of an earlier email, and an item read in the app is left out of the digest."""

import email
import email.policy
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.test import Client, override_settings

from spire_notify import Deferred, Message, notification_types, notify
from spire_notify.channels.app.models import AppNotification
from spire_notify.models import Digest, Notification
from spire_notify.preferences import set_preference
from tests.support.delivery_harness import (
    DUMMY_TASKS,
    RecordingHandler,
    SmtpSink,
    finish,
    manage,
    shared_db,
    worker_env,
)

__all__ = ["shared_db"]

TEN_MINUTES = timedelta(minutes=10)
DAY = 86400
MESSAGE = Message(event="helpdesk.ticket.new", title="Ticket #1", body="Priority: High", path="/t/1/")


class KeepingHandler(RecordingHandler):
    """Keeps each message as received, to read what a digest lists."""

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages = [*getattr(self, "messages", []), envelope.content]
        return await super().handle_DATA(server, session, envelope)


class KeepingSink(SmtpSink):
    def __init__(self):
        super().__init__()
        self.handler = KeepingHandler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def received(self):
        with self.handler.lock:
            raw = list(getattr(self.handler, "messages", []))
        return [email.message_from_bytes(content, policy=email.policy.default) for content in raw]


def run_worker(db_name, sink, *, later_by=0):
    """One ``process_notifications`` run in a worker whose clock is ``later_by`` seconds ahead."""
    env = worker_env(db_name, smtp_port=sink.port, clock_offset=later_by)
    return finish(manage("process_notifications", env=env))


@pytest.fixture
def sink():
    with KeepingSink() as running, override_settings(TASKS=DUMMY_TASKS):
        yield running


def escalate(user):
    rows = notify(MESSAGE, {user: ["app", Deferred("email", TEN_MINUTES)]})
    return {row.channel: row for row in rows}


def test_read_before_the_delay_is_skipped_and_no_mail_is_sent(shared_db, sink, make_user):
    rows = escalate(make_user("ada"))
    AppNotification.objects.of(Notification.objects.filter(pk=rows["app"].pk)).mark_read()
    run_worker(shared_db, sink, later_by=TEN_MINUTES.total_seconds() + 5)
    email_row = Notification.objects.get(pk=rows["email"].pk)
    assert (email_row.status, email_row.last_error) == (
        "skipped",
        "Skipped: read in the app before the delay.",
    )
    assert sink.received() == []


def test_unread_is_mailed_after_the_delay_and_not_before(shared_db, sink, make_user):
    rows = escalate(make_user("ada"))
    run_worker(shared_db, sink, later_by=TEN_MINUTES.total_seconds() - 30)
    assert Notification.objects.get(pk=rows["email"].pk).status == "pending"
    assert sink.received() == []
    run_worker(shared_db, sink, later_by=TEN_MINUTES.total_seconds() + 5)
    assert Notification.objects.get(pk=rows["email"].pk).status == "sent"
    [mail] = sink.received()
    assert mail["To"] == "ada@example.com"
    assert mail["Message-ID"] == f"<notification.{rows['email'].pk}@example.com>"


@pytest.fixture
def orders():
    notification_types.register("shop.order", name="Orders", default_channels=["app", "email"])
    yield
    notification_types.unregister("shop.order")


def test_three_items_in_a_window_arrive_as_exactly_one_email_listing_all_three(
    shared_db, sink, make_user, orders
):
    ada = make_user("ada")
    set_preference(ada, "shop.order", "email", "digest")
    for number in (1, 2, 3):
        message = Message(event="shop.order", title=f"Order #{number}", path=f"/o/{number}/")
        notify(message, {ada: ["app", "email"]})
    run_worker(shared_db, sink)
    assert sink.received() == []
    assert set(Notification.objects.filter(channel="email").values_list("status", flat=True)) == {"held"}
    # The worker registers no "shop.order" type: the digest groups the items as "Other notifications".
    run_worker(shared_db, sink, later_by=DAY)
    run_worker(shared_db, sink, later_by=DAY)
    [mail] = sink.received()
    digest = Digest.objects.get()
    assert mail["Message-ID"] == f"<digest.{digest.pk}@example.com>"
    assert mail["Subject"] == "New notifications: 3"
    text = mail.get_body(("plain",)).get_content()
    assert text.index("Order #3") < text.index("Order #2") < text.index("Order #1")
    html = mail.get_body(("html",)).get_content()
    assert all(f'href="https://example.com/o/{number}/"' in html for number in (1, 2, 3))
    items = Notification.objects.filter(channel="email")
    assert {(row.status, row.digest_id) for row in items} == {("sent", digest.pk)}


def one_click_unsubscribe(mail):
    """What a mail provider does with a received email's List-Unsubscribe-Post (RFC 8058)."""
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Unfolded, as a mail reader reads it: Django 5.2 folds the header after its name.
    url = mail["List-Unsubscribe"].strip().strip("<>")
    response = Client(enforce_csrf_checks=True).post(urlsplit(url).path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200


def test_a_deferred_email_written_before_a_one_click_unsubscribe_is_not_sent(shared_db, sink, make_user):
    ada = make_user("ada")
    notify(MESSAGE, {ada: ["email"]})
    rows = escalate(ada)
    run_worker(shared_db, sink)
    [first] = sink.received()
    one_click_unsubscribe(first)
    run_worker(shared_db, sink, later_by=TEN_MINUTES.total_seconds() + 5)
    email_row = Notification.objects.get(pk=rows["email"].pk)
    assert (email_row.status, email_row.last_error) == (
        "skipped",
        "Skipped: the recipient switched this type of notification off on this channel.",
    )
    assert [mail["Message-ID"] for mail in sink.received()] == [first["Message-ID"]]


def test_an_item_read_in_the_app_is_left_out_of_the_digest(shared_db, sink, make_user):
    ada = make_user("ada")
    set_preference(ada, MESSAGE.event, "email", "digest")
    rows = [
        notify(
            Message(event=MESSAGE.event, title=f"Ticket #{number}", path=f"/t/{number}/"),
            {ada: ["app", Deferred("email", TEN_MINUTES)]},
        )
        for number in (1, 2)
    ]
    read, unread = ({row.channel: row for row in written} for written in rows)
    AppNotification.objects.of(Notification.objects.filter(pk=read["app"].pk)).mark_read()
    run_worker(shared_db, sink, later_by=DAY)
    [mail] = sink.received()
    text = mail.get_body(("plain",)).get_content()
    assert mail["Subject"] == "New notifications: 1"
    assert "Ticket #2" in text and "Ticket #1" not in text
    left_out = Notification.objects.get(pk=read["email"].pk)
    assert (left_out.status, left_out.last_error) == (
        "skipped",
        "Skipped: read in the app before its digest was sent.",
    )
    assert Notification.objects.get(pk=unread["email"].pk).status == "sent"
