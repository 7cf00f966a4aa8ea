"""A project changes who hears of a new ticket, on which channels and when, with no fork: a
subclass of TicketCreated named in NOTIFY_NOTIFIERS. Its rows, timing, type, preferences page,
previews and startup checks follow the subclass."""

from datetime import UTC, datetime, timedelta

import lxml.html
import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from spire_notify import Channel, clock
from spire_notify.backends import locmem
from spire_notify.channels.app.models import AppNotification
from spire_notify.channels.email.previews import samples
from spire_notify.helpdesk.notifiers import TicketCreated
from spire_notify.models import Notification
from spire_notify.notification_types import get_type
from spire_notify.notifier.checks import check_notifiers
from spire_notify.testing import isolated_notifiers
from spire_notify.worker.process import process_notifications
from spire_notify.worker.skips import READ_IN_APP
from tests.support.delivery_harness import DUMMY_TASKS

NEW = "helpdesk.ticket.new"
TEMPLATE = "helpdesk/email/ticket_new.html"
TEN_MINUTES = timedelta(minutes=10)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WITH_CHAT = {
    "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
    "email": {"BACKEND": "spire_notify.channels.email.backend.EmailBackend"},
    "chat": {"BACKEND": "spire_notify.backends.locmem.LocMemBackend"},
}


@pytest.fixture
def swap():
    """``swap(**attributes)``: declare OurTicketCreated, a subclass of TicketCreated, in this
    module (so its dotted path imports) and name it in NOTIFY_NOTIFIERS, for one test."""
    with isolated_notifiers(), override_settings(TASKS=DUMMY_TASKS), clock.frozen_at(START):
        stack = []

        def declare(**attributes):
            namespace = {"__module__": __name__, "__qualname__": "OurTicketCreated", **attributes}
            globals()["OurTicketCreated"] = our = type("OurTicketCreated", (TicketCreated,), namespace)
            swapped = override_settings(NOTIFY_NOTIFIERS={NEW: f"{__name__}.OurTicketCreated"})
            swapped.enable()
            stack.append(swapped)
            return our

        try:
            yield declare
        finally:
            for swapped in reversed(stack):
                swapped.disable()
            globals().pop("OurTicketCreated", None)
    clock.reset()


def managers_only_email_escalated(swap):
    """Only managers hear of a new ticket: in-app at once, by email ten minutes later unless
    they read it in the app by then."""
    return swap(
        channels=[Channel("app"), Channel("email", template=TEMPLATE, wait=TEN_MINUTES, unless="read")],
        developer_channels=(),
        manager_channels=("app", "email"),
    )


def rows(ticket):
    return {
        (row.user.username, row.channel): row
        for row in Notification.objects.filter(object_id=ticket.pk).select_related("user")
    }


@pytest.mark.django_db
class TestManagersOnlyWithEscalation:
    def test_managers_get_the_app_row_now_and_the_email_in_ten_minutes(
        self, swap, developer, manager, create_ticket
    ):
        managers_only_email_escalated(swap)
        ticket = create_ticket()

        written = rows(ticket)
        assert sorted(written) == [("manager", "app"), ("manager", "email")]
        app, email = written["manager", "app"], written["manager", "email"]
        assert (app.status, email.status) == ("sent", "pending")
        assert email.send_after == START + TEN_MINUTES
        assert email.unless_read_id == app.pk

        clock.advance(TEN_MINUTES - timedelta(seconds=1))
        assert process_notifications()["sent"] == 0
        clock.advance(1)
        assert process_notifications()["sent"] == 1
        [sent] = mail.outbox
        assert (sent.to, sent.subject) == (
            ["manager@example.com"],
            f"[High] New Help Desk Ticket #{ticket.pk}",
        )

    def test_a_manager_who_read_it_in_the_app_gets_no_email(self, swap, manager, create_ticket):
        managers_only_email_escalated(swap)
        ticket = create_ticket()
        AppNotification.objects.of(Notification.objects.filter(channel="app")).mark_read()

        clock.advance(TEN_MINUTES)
        assert process_notifications()["skipped"] == 1
        email = rows(ticket)["manager", "email"]
        assert (email.status, email.last_error) == ("skipped", READ_IN_APP)
        assert mail.outbox == []

    def test_its_type_is_the_subclasss(self, swap):
        managers_only_email_escalated(swap)
        declared = get_type(NEW)
        assert (declared.name, declared.default_channels) == ("New help desk ticket", ("app", "email"))


@pytest.mark.django_db
def test_a_channel_the_project_adds_is_delivered_shown_and_checked(
    swap, developer, manager, client, create_ticket
):
    swap(
        channels=[Channel("app"), Channel("email", template=TEMPLATE), Channel("chat")],
        developer_channels=("app", "email", "chat"),
    )
    # Not configured: the startup check names the subclass that sends the key.
    assert [(message.id, message.msg) for message in check_notifiers()] == [
        (
            "spire_notify.E113",
            f"{__name__}.OurTicketCreated: Channel('chat') is not a channel of NOTIFY_BACKENDS, so nobody "
            "would hear of 'helpdesk.ticket.new' on it.",
        )
    ]
    with override_settings(NOTIFY_BACKENDS=WITH_CHAT):
        assert check_notifiers() == []
        assert get_type(NEW).default_channels == ("app", "email", "chat")

        ticket = create_ticket()
        assert process_notifications()["sent"] == 2  # email and chat; the app rows were written sent
        assert sorted(rows(ticket)) == [("dev", "app"), ("dev", "chat"), ("dev", "email"), ("manager", "app")]

        client.force_login(manager)
        page = lxml.html.fromstring(client.get(reverse("spire_notify:preferences")).content)
        modes = {
            select.get("name"): select.cssselect("option[selected]")[0].get("value")
            for select in page.cssselect("form select")
        }
    # On by default for the type whose Notifier sends on it; not offered for the others.
    assert modes["helpdesk.ticket.new:chat"] == "immediate"
    assert "helpdesk.ticket.update:chat" not in modes
    assert [(alias, rendered.content) for alias, _, rendered in locmem.outbox] == [
        ("chat", f"New Help Desk Ticket #{ticket.pk}")
    ]


def test_the_email_previews_show_the_subclasss_message(swap):
    swap(title=lambda self: f"Ticket #{self.ticket.pk} needs a manager")
    assert samples()[TEMPLATE]().title == "Ticket #1042 needs a manager"


@pytest.mark.django_db
def test_a_role_channel_that_is_not_one_of_its_channels_is_an_error_that_names_it(
    swap, developer, create_ticket
):
    swap(developer_channels=("app", "emial"))
    with pytest.raises(ValueError) as raised:
        create_ticket()
    assert str(raised.value) == (
        "OurTicketCreated.recipients() names the channel 'emial', which is not one of its channels "
        "(app, email). Add Channel('emial') to its channels."
    )
