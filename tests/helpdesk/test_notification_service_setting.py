"""SPIRE_HELPDESK_NOTIFICATION_SERVICE is retired: the help desk's Notifiers decide who hears of a
ticket, and a project that still sets the service class is told what to do instead
(spire_helpdesk.E005). ``ticket.services.notification`` stays, delivering through them."""

import pytest
from django.test import override_settings

from spire_notify.helpdesk.checks import check_notification_service_setting
from spire_notify.helpdesk.models import HelpDeskTicket
from spire_notify.helpdesk.notifiers import TicketCreated, TicketStatusChanged
from spire_notify.helpdesk.services.notification_service import HelpDeskTicketNotificationService

SETTING = "SPIRE_HELPDESK_NOTIFICATION_SERVICE"
HINT = (
    "Subclass the Notifier of the event in spire_notify.helpdesk.notifiers: TicketCreated (new tickets, "
    "'helpdesk.ticket.new'), TicketStatusChanged (status changes, 'helpdesk.ticket.update'), "
    "TicketCommented (comments, 'helpdesk.ticket.comment'); name the subclass in NOTIFY_NOTIFIERS = "
    '{"helpdesk.ticket.new": "myproject.notifiers.OurTicketCreated"}, and remove '
    "SPIRE_HELPDESK_NOTIFICATION_SERVICE."
)


class ChatTooNotificationService(HelpDeskTicketNotificationService):
    """What a project wrote before the Notifiers: it no longer changes who hears of a ticket."""

    developer_channels = ("app", "email", "chat")


def messages():
    return [(message.id, message.msg, message.hint) for message in check_notification_service_setting()]


def test_unset_it_says_nothing_and_the_service_is_the_facade():
    assert messages() == []
    ticket = HelpDeskTicket(pk=3, priority="high", purpose="app")
    assert type(ticket.services.notification) is HelpDeskTicketNotificationService
    assert type(ticket.services.notification.notifier("new")) is TicketCreated


@override_settings(**{SETTING: f"{__name__}.ChatTooNotificationService"})
def test_a_project_that_still_sets_it_hears_which_notifier_to_subclass_instead():
    assert messages() == [
        (
            "spire_helpdesk.E005",
            f"SPIRE_HELPDESK_NOTIFICATION_SERVICE = '{__name__}.ChatTooNotificationService' is no longer "
            "read: the help desk's Notifiers decide who hears of a ticket, on which channels and when, "
            "and a subclass of HelpDeskTicketNotificationService changes none of it.",
            HINT,
        )
    ]
    # Not read: the ticket's service is the built-in one whatever the setting names.
    assert type(HelpDeskTicket().services.notification) is HelpDeskTicketNotificationService


@override_settings(**{SETTING: "mysite.nowhere.Service"})
def test_any_value_is_the_same_one_error():
    assert [message[0] for message in messages()] == ["spire_helpdesk.E005"]


def test_the_facade_builds_each_events_message_with_its_notifier():
    ticket = HelpDeskTicket(pk=3, priority="high", purpose="app", status="in_progress")
    service = ticket.services.notification
    assert service.build_message("new") == TicketCreated(ticket).build_message()
    grace = HelpDeskTicket._meta.get_field("created_by").related_model(username="grace")
    assert service.build_message("update", changed_by=grace) == (
        TicketStatusChanged(ticket, changed_by=grace).build_message()
    )
    assert service.build_message("update", changed_by=grace).template == "helpdesk/email/ticket_update.html"


@pytest.mark.django_db
def test_the_facades_methods_return_what_the_notifier_delivered(developer, manager, create_ticket):
    ticket = create_ticket()
    ticket.refresh_from_db()
    written = ticket.services.notification.create_new_ticket_notifications()
    assert sorted((row.user.username, row.channel) for row in written) == [
        ("dev", "app"),
        ("dev", "email"),
        ("manager", "app"),
    ]
