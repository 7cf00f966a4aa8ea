from django.db import transaction
from django.utils.functional import cached_property


class HelpDeskTicketService:
    """The service layer of one ticket: ``ticket.services``."""

    def __init__(self, ticket):
        self.ticket = ticket

    @cached_property
    def notification(self):
        from .notification_service import HelpDeskTicketNotificationService

        return HelpDeskTicketNotificationService(self.ticket)

    def create(self, **fields):
        """Save a new ticket with ``fields`` and notify developers and managers of it.

        The ticket and its notifications are written in one transaction; delivery starts
        when it commits. Returns the ticket.
        """
        if self.ticket.pk is not None:
            raise ValueError(f"{self.ticket} is already created; save() it to change it.")
        for name, value in fields.items():
            setattr(self.ticket, name, value)
        self.ticket.full_clean()
        with transaction.atomic():
            self.ticket.save()
            self.notification.create_new_ticket_notifications()
        return self.ticket
