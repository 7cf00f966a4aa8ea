"""Notifications about a help desk ticket."""

from spire_notify import Message, notify

from ..enums import TicketEventType
from ..recipients import ticket_audience


class UnmappedTicketEvent(LookupError):
    """An event with no title or body mapped in ``HelpDeskTicketNotificationService``."""

    def __init__(self, event, mapping):
        super().__init__(
            f"{event!r} has no notification {mapping} in HelpDeskTicketNotificationService; "
            f"map it in _get_ticket_event_notification_{mapping}()."
        )


class HelpDeskTicketNotificationService:
    """Builds the channel-agnostic message of a ticket event and says who receives it.

    Developers get the app and email channels, managers the app channel; a user who is both
    gets each channel once. Subclass and extend the mappings to add events.
    """

    developer_channels = ("app", "email")
    manager_channels = ("app",)
    email_templates = {TicketEventType.NEW: "helpdesk/email/ticket_new.html"}

    def __init__(self, ticket):
        self.ticket = ticket

    def create_new_ticket_notifications(self):
        """Notify developers and managers of a ticket just created; returns the notifications."""
        return notify(self.build_message(TicketEventType.NEW), self.get_new_ticket_recipients())

    def get_new_ticket_recipients(self):
        """``{user: channels}`` for every active developer and manager."""
        recipients = {}
        for user in ticket_audience():
            channels = []
            if user.is_developer:
                channels += self.developer_channels
            if user.is_manager:
                channels += self.manager_channels
            recipients[user] = list(dict.fromkeys(channels))
        return recipients

    def build_message(self, event):
        ticket = self.ticket
        return Message(
            event=f"helpdesk.ticket.{event}",
            title=self._get_ticket_event_notification_title(event),
            body=self._get_ticket_event_notification_body(event),
            path=ticket.get_absolute_url(),
            priority=ticket.get_priority_display(),
            purpose=ticket.get_purpose_display(),
            template=self.email_templates.get(event, ""),
            target=ticket,
            context={"ticket_id": ticket.pk},
        )

    def _get_ticket_event_notification_title(self, event):
        titles = {TicketEventType.NEW: f"New Help Desk Ticket #{self.ticket.pk}"}
        try:
            return titles[event]
        except KeyError:
            raise UnmappedTicketEvent(event, "title") from None

    def _get_ticket_event_notification_body(self, event):
        ticket = self.ticket
        bodies = {
            TicketEventType.NEW: (
                f"Priority: {ticket.get_priority_display()} - "
                f"Purpose: {ticket.get_purpose_display()}"
            ),
        }
        try:
            return bodies[event]
        except KeyError:
            raise UnmappedTicketEvent(event, "body") from None
