"""SPIRE_HELPDESK_NOTIFICATION_SERVICE: a project's subclass of the help desk's notification
service takes every ticket event, and its extra channels are notified and checked."""

import pytest
from django.test import override_settings

from spire_notify import notification_types
from spire_notify.backends import locmem
from spire_notify.helpdesk.checks import check_channels, check_notification_service
from spire_notify.helpdesk.enums import TicketEventType
from spire_notify.helpdesk.models import HelpDeskTicket
from spire_notify.helpdesk.notification_types import event_key, register_types
from spire_notify.helpdesk.services.notification_service import HelpDeskTicketNotificationService
from spire_notify.models import Notification

SETTING = "SPIRE_HELPDESK_NOTIFICATION_SERVICE"
WITH_CHAT = {
    "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
    "email": {"BACKEND": "spire_notify.channels.email.backend.EmailBackend"},
    "chat": {"BACKEND": "spire_notify.backends.locmem.LocMemBackend"},
}


class ChatTooNotificationService(HelpDeskTicketNotificationService):
    """Developers also hear of new tickets on the project's "chat" channel."""

    developer_channels = ("app", "email", "chat")


class NotAService:
    pass


CHAT_TOO = f"{__name__}.ChatTooNotificationService"


def messages(check):
    return [(message.id, message.msg) for message in check()]


def declare_the_help_desk_types():
    """What Django's start does: the help desk's types, with the configured service's channels."""
    for event in TicketEventType:
        notification_types.unregister(event_key(event))
    register_types()


@pytest.fixture
def chat_too_project():
    """A project whose settings name the subclass and configure its channel, as it starts."""
    with override_settings(**{SETTING: CHAT_TOO}, NOTIFY_BACKENDS=WITH_CHAT):
        declare_the_help_desk_types()
        yield
    declare_the_help_desk_types()


def test_by_default_the_built_in_service_notifies():
    assert type(HelpDeskTicket().services.notification) is HelpDeskTicketNotificationService
    assert messages(check_notification_service) == []


@override_settings(**{SETTING: CHAT_TOO})
def test_the_setting_names_the_class_of_ticket_services_notification():
    assert type(HelpDeskTicket().services.notification) is ChatTooNotificationService
    assert messages(check_notification_service) == []


def test_the_help_desk_types_have_the_configured_services_channels_on(chat_too_project):
    for event in TicketEventType:
        assert notification_types.get_type(event_key(event)).default_channels == ("app", "chat", "email")


@pytest.mark.django_db
def test_a_subclass_with_an_extra_channel_notifies_on_it(
    chat_too_project, developer, manager, create_and_deliver
):
    locmem.outbox.clear()
    ticket = create_and_deliver()
    rows = Notification.objects.filter(object_id=ticket.pk).order_by("user__username", "channel")
    assert [(row.user.username, row.channel, row.status) for row in rows] == [
        ("dev", "app", "sent"),
        ("dev", "chat", "sent"),
        ("dev", "email", "sent"),
        ("manager", "app", "sent"),
    ]
    assert [(alias, rendered.content) for alias, _, rendered in locmem.outbox] == [
        ("chat", f"New Help Desk Ticket #{ticket.pk}")
    ]


@override_settings(**{SETTING: CHAT_TOO})
def test_the_channels_warning_reads_the_configured_class():
    assert messages(check_channels) == [
        (
            "spire_helpdesk.W001",
            "NOTIFY_BACKENDS has no 'chat' channel, so help desk notifications meant for it are not sent.",
        )
    ]
    with override_settings(NOTIFY_BACKENDS=WITH_CHAT):
        assert messages(check_channels) == []


@override_settings(**{SETTING: "mysite.nowhere.Service"})
def test_a_path_that_cannot_be_imported_is_an_error():
    assert messages(check_notification_service) == [
        (
            "spire_helpdesk.E003",
            "SPIRE_HELPDESK_NOTIFICATION_SERVICE = 'mysite.nowhere.Service' cannot be imported: "
            "No module named 'mysite'",
        )
    ]
    assert messages(check_channels) == []  # one problem, one message


@override_settings(**{SETTING: f"{__name__}.NotAService"})
def test_a_class_that_is_not_a_notification_service_is_an_error():
    assert messages(check_notification_service) == [
        (
            "spire_helpdesk.E004",
            f"SPIRE_HELPDESK_NOTIFICATION_SERVICE = '{__name__}.NotAService' is not a subclass of "
            "HelpDeskTicketNotificationService.",
        )
    ]
