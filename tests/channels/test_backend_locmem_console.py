"""spire_notify.backends.locmem and spire_notify.backends.console: the test and development backends."""

import io
import sys

import pytest
from django.test import override_settings

from spire_notify import Message, Recipient
from spire_notify.backends import locmem
from spire_notify.backends.base import Delivery, Outcome
from spire_notify.backends.console import ConsoleBackend
from spire_notify.backends.locmem import LocMemBackend
from spire_notify.exceptions import InvalidNotifyBackend
from spire_notify.models import Notification

MESSAGE = Message(
    event="e", title="New Help Desk Ticket #3", body="Priority: Low - Purpose: App", path="/p/3/"
)


class Row:
    """The part of a notification a backend's send() reads."""

    def __init__(self, pk):
        self.pk = pk


def deliveries(backend, count):
    return [
        Delivery(notification=Row(pk), rendered=backend.render(MESSAGE, Recipient(user_id=pk)))
        for pk in range(1, count + 1)
    ]


def test_locmem_renders_summary_path_and_title():
    rendered = LocMemBackend(alias="x").render(MESSAGE, Recipient(user_id=1))
    assert (rendered.body, rendered.url, rendered.content) == (
        "Priority: Low - Purpose: App",
        "/p/3/",
        "New Help Desk Ticket #3",
    )


def test_locmem_keeps_deliveries_in_order():
    backend = LocMemBackend(alias="inbox")
    batch = deliveries(backend, 2)
    assert backend.send(batch) == [Outcome.success(), Outcome.success()]
    assert locmem.outbox == [("inbox", 1, batch[0].rendered), ("inbox", 2, batch[1].rendered)]


def test_locmem_rejects_unknown_options():
    with pytest.raises(InvalidNotifyBackend, match=r"^NOTIFY_BACKENDS\['x'\]: unknown option 'colour'$"):
        LocMemBackend(alias="x", colour="blue")


def test_console_writes_each_delivery_to_its_stream():
    stream = io.StringIO()
    backend = ConsoleBackend(alias="console", stream=stream)
    assert backend.send(deliveries(backend, 2)) == [Outcome.success(), Outcome.success()]
    block = "To user {}: New Help Desk Ticket #3\nPriority: Low - Purpose: App\n/p/3/\n" + "-" * 60 + "\n"
    assert stream.getvalue() == "[console] " + block.format(1) + "[console] " + block.format(2)


def test_console_defaults_to_standard_output(capsys):
    backend = ConsoleBackend(alias="console")
    backend.send(deliveries(backend, 1))
    assert capsys.readouterr().out.startswith("[console] To user 1: New Help Desk Ticket #3\n")


def test_console_reads_standard_output_when_sending():
    # Not at construction: a backend built once per process must follow a redirected stdout.
    backend = ConsoleBackend(alias="console")
    redirected = io.StringIO()
    original, sys.stdout = sys.stdout, redirected
    try:
        backend.send(deliveries(backend, 1))
    finally:
        sys.stdout = original
    assert redirected.getvalue().startswith("[console] To user 1:")


@pytest.mark.django_db
@override_settings(
    NOTIFY_BACKENDS={
        "app": {"BACKEND": "spire_notify.backends.console.ConsoleBackend"},
        "email": {"BACKEND": "spire_notify.backends.locmem.LocMemBackend"},
    }
)
def test_both_deliver_a_ticket_end_to_end(developer, create_and_deliver, capsys):
    ticket = create_and_deliver()
    email_row = Notification.objects.get(channel="email")
    assert locmem.outbox == [("email", email_row.pk, locmem.outbox[0][2])]
    assert locmem.outbox[0][2].content == f"New Help Desk Ticket #{ticket.pk}"
    out = capsys.readouterr().out
    assert out.startswith(f"[app] To user {developer.pk}: New Help Desk Ticket #{ticket.pk}\n")
    assert set(Notification.objects.values_list("status", "body")) == {
        ("sent", "Priority: High - Purpose: App")
    }
