from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import models
from django.urls import reverse
from django.utils.functional import cached_property

from .choices import (
    HelpDeskTicketPriorityChoices,
    HelpDeskTicketPurposeChoices,
    HelpDeskTicketStatusChoices,
)


class HelpDeskTicket(models.Model):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="help_desk_tickets"
    )
    purpose = models.CharField(max_length=16, choices=HelpDeskTicketPurposeChoices)
    priority = models.CharField(
        max_length=16,
        choices=HelpDeskTicketPriorityChoices,
        default=HelpDeskTicketPriorityChoices.MEDIUM,
    )
    status = models.CharField(
        max_length=16,
        choices=HelpDeskTicketStatusChoices,
        default=HelpDeskTicketStatusChoices.READY,
    )
    # PostgreSQL cannot store U+0000 in text: reject it in validation rather than fail on save.
    description = models.TextField(validators=[ProhibitNullCharactersValidator()])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "help desk ticket"

    def __str__(self):
        return f"Ticket #{self.pk} ({self.get_priority_display()}, {self.get_purpose_display()})"

    def get_absolute_url(self):
        return reverse("spire_helpdesk:ticket_detail", kwargs={"pk": self.pk})

    @cached_property
    def services(self):
        from .services.ticket_service import HelpDeskTicketService

        return HelpDeskTicketService(self)


class HelpDeskTicketComment(models.Model):
    ticket = models.ForeignKey(HelpDeskTicket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="help_desk_comments"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "help desk ticket comment"

    def __str__(self):
        return f"Comment #{self.pk} on ticket #{self.ticket_id} by {self.author}"

    def clean(self):
        # An empty body is caught by the field itself; whitespace alone says nothing either.
        if self.body and not self.body.strip():
            raise ValidationError({"body": "Write something in the comment."})
