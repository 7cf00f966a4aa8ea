from enum import StrEnum


class TicketEventType(StrEnum):
    NEW = "new"
    UPDATE = "update"
    COMMENT = "comment"


def event_key(event):
    """The notification type key (and message ``event``) of a ticket event."""
    return f"helpdesk.ticket.{event}"
