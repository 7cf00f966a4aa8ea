"""The help desk's notification types: one per ticket event, registered from ``ready()``."""

from django.utils.translation import gettext_lazy as _

from spire_notify import notification_types

from .enums import TicketEventType


def event_key(event):
    """The message ``event`` (and notification type key) of a ticket event."""
    return f"helpdesk.ticket.{event}"


def ticket_channels():
    """The channels of the configured notification service (SPIRE_HELPDESK_NOTIFICATION_SERVICE):
    a project's subclass that adds one gets it on by default, not switched off by preferences.
    A setting that names no service leaves the built-in one's: spire_helpdesk.E003/E004 say why."""
    from .services.notification_service import HelpDeskTicketNotificationService
    from .services.notification_setting import InvalidNotificationService, notification_service_class

    try:
        service_class = notification_service_class()
    except InvalidNotificationService:
        service_class = HelpDeskTicketNotificationService
    return tuple(sorted(service_class.channels()))


def register_types():
    """Declared when Django starts, with the channels of the service configured then."""
    channels = ticket_channels()
    notification_types.register(
        event_key(TicketEventType.NEW),
        name=_("New help desk ticket"),
        description=_("Someone filed a ticket (sent to developers and managers)."),
        default_channels=channels,
    )
    notification_types.register(
        event_key(TicketEventType.UPDATE),
        name=_("Ticket status changed"),
        description=_("A ticket you filed moved to another status."),
        default_channels=channels,
    )
    notification_types.register(
        event_key(TicketEventType.COMMENT),
        name=_("New comment on a ticket"),
        description=_("Someone commented on a ticket you filed or commented on."),
        default_channels=channels,
    )
