"""The help desk's notification types: one per ticket event, registered from ``ready()``."""

from django.utils.translation import gettext_lazy as _

from spire_notify import types

from .enums import TicketEventType

TICKET_CHANNELS = ("app", "email")


def event_key(event):
    """The message ``event`` (and notification type key) of a ticket event."""
    return f"helpdesk.ticket.{event}"


def register_types():
    types.register(
        event_key(TicketEventType.NEW),
        name=_("New help desk ticket"),
        description=_("Someone filed a ticket (sent to developers and managers)."),
        default_channels=TICKET_CHANNELS,
    )
    types.register(
        event_key(TicketEventType.UPDATE),
        name=_("Ticket status changed"),
        description=_("A ticket you filed moved to another status."),
        default_channels=TICKET_CHANNELS,
    )
    types.register(
        event_key(TicketEventType.COMMENT),
        name=_("New comment on a ticket"),
        description=_("Someone commented on a ticket you filed or commented on."),
        default_channels=TICKET_CHANNELS,
    )
