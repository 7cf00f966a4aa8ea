"""``ticket.services.notification``: the help desk's notifications of one ticket.

Each method delivers through the Notifier that sends its event now
(``spire_notify.helpdesk.notifiers``, or the subclass ``NOTIFY_NOTIFIERS`` names for its key), so
who hears of a ticket, on which channels and when is said in one place, the Notifier; this
class keeps the calls the ticket service and projects make.
"""

from spire_notify.notification_types import active_notifier

from ..enums import TicketEventType, event_key


class UnmappedTicketEvent(LookupError):
    """An event that no Notifier declares (no ``helpdesk.ticket.<event>`` key)."""

    def __init__(self, event, mapping):
        super().__init__(
            f"{event!r} has no notification {mapping} in HelpDeskTicketNotificationService; "
            f"map it in _get_ticket_event_notification_{mapping}()."
        )


class HelpDeskTicketNotificationService:
    """The notifications of ``ticket``'s events, delivered by their Notifiers.

    - NEW (on creation only): ``TicketCreated``, to developers and managers.
    - UPDATE (a status change): ``TicketStatusChanged``, to the creator.
    - COMMENT: ``TicketCommented``, to the other participants who may still open the ticket.
    """

    def __init__(self, ticket):
        self.ticket = ticket

    def notifier(self, event, *, changed_by=None, comment=None):
        """The Notifier of ``event`` about this ticket, of the class that sends it now."""
        notifier_class = active_notifier(event_key(event))
        if notifier_class is None:
            raise UnmappedTicketEvent(event, "title")
        if event == TicketEventType.UPDATE:
            return notifier_class(self.ticket, changed_by=changed_by)
        if event == TicketEventType.COMMENT:
            return notifier_class(self.ticket, comment)
        return notifier_class(self.ticket)

    def create_new_ticket_notifications(self):
        """Notify developers and managers of a ticket just created; returns the notifications."""
        return self.notifier(TicketEventType.NEW).deliver()

    def create_status_update_notifications(self, *, changed_by):
        """Tell the creator the ticket's new status, unless they changed it themselves."""
        return self.notifier(TicketEventType.UPDATE, changed_by=changed_by).deliver()

    def create_comment_notifications(self, comment):
        """Tell the ticket's other participants of ``comment``; returns the notifications."""
        return self.notifier(TicketEventType.COMMENT, comment=comment).deliver()

    def get_new_ticket_recipients(self):
        """``{user: channels}`` for every active developer and manager."""
        return self.notifier(TicketEventType.NEW).recipients_by_user()

    def get_comment_recipients(self, comment):
        """``{user: channels}`` for the participants who may open the ticket, but the author."""
        return self.notifier(TicketEventType.COMMENT, comment=comment).recipients()

    def build_message(self, event, *, changed_by=None, comment=None):
        """The message of ``event``; pure, so it can be built from unsaved objects."""
        return self.notifier(event, changed_by=changed_by, comment=comment).build_message()

    def _get_ticket_event_notification_title(self, event):
        return self.notifier(event).title()

    def _get_ticket_event_notification_body(self, event, *, comment=None):
        return self.notifier(event, comment=comment).body()
