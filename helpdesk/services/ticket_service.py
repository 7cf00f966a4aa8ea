from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.functional import cached_property

from ..choices import HelpDeskTicketStatusChoices
from .notification_service import HelpDeskTicketNotificationService


class HelpDeskTicketService:
    """The service layer of one ticket: ``ticket.services``."""

    def __init__(self, ticket):
        self.ticket = ticket

    @cached_property
    def notification(self):
        """The ticket's notifications, each delivered by the Notifier of its event."""
        return HelpDeskTicketNotificationService(self.ticket)

    def create(self, **fields):
        """Save a new ticket with ``fields`` and notify developers and managers of it.

        The ticket and its notifications are written in one transaction; delivery starts
        when it commits. Returns the ticket; raises ``ValidationError`` for invalid values and
        for a name that is not a field the caller may set, before anything is written.
        """
        if self.ticket.pk is not None:
            raise ValueError(f"{self.ticket} is already created; save() it to change it.")
        self._refuse_unknown_fields(fields)
        for name, value in fields.items():
            setattr(self.ticket, name, value)
        self.ticket.full_clean()
        with transaction.atomic():
            self.ticket.save()
            self.notification.create_new_ticket_notifications()
        return self.ticket

    def change_status(self, status, *, changed_by):
        """Move the ticket to ``status`` and tell its creator (UPDATE).

        Setting the status it already has changes nothing and notifies nobody. Raises
        ``ValueError`` for a status that is not one of ``HelpDeskTicketStatusChoices``.
        Returns the ticket.
        """
        self._require_saved()
        status = HelpDeskTicketStatusChoices(status)
        if status == self.ticket.status:
            return self.ticket
        with transaction.atomic():
            self.ticket.status = status
            self.ticket.save(update_fields=["status", "updated_at"])
            self.notification.create_status_update_notifications(changed_by=changed_by)
        return self.ticket

    def add_comment(self, *, author, body):
        """Save a comment by ``author`` and tell the ticket's other participants (COMMENT).

        Returns the saved comment; raises ``ValidationError`` for an empty body.
        """
        self._require_saved()
        # The comment model through the ticket's relation: the services never import the models
        # (the models import the services, for ``ticket.services``).
        comment = self.ticket.comments.model(ticket=self.ticket, author=author, body=body)
        comment.full_clean()
        with transaction.atomic():
            comment.save()
            self.notification.create_comment_notifications(comment)
        return comment

    def _refuse_unknown_fields(self, fields):
        # setattr() would accept a misspelt name ("priorty") and save the default instead; the
        # primary key and the automatic times are not the caller's to set either.
        model = type(self.ticket)
        settable = {
            name
            for field in model._meta.concrete_fields
            if field.editable and not field.primary_key
            for name in (field.name, field.attname)
        }
        unknown = sorted(set(fields) - settable)
        if unknown:
            raise ValidationError({name: f"{model.__name__} has no field {name!r}." for name in unknown})

    def _require_saved(self):
        if self.ticket.pk is None:
            raise ValueError("Create the ticket with ticket.services.create() first.")
