from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db import models
from django.urls import reverse
from django.utils.functional import cached_property

from .choices import (
    HelpDeskTicketPriorityChoices,
    HelpDeskTicketPurposeChoices,
    HelpDeskTicketStatusChoices,
)

# The most a description or a comment may hold: about 3,000 words, or a pasted traceback of a few
# hundred lines. Every notification email carries the whole text, so the limit keeps an email
# under the 102 KB at which Gmail clips the HTML (docs/help-desk-notifications.md, "Limits").
DESCRIPTION_MAX_CHARS = 20_000
COMMENT_MAX_CHARS = 20_000


def text_validators(max_chars):
    # PostgreSQL cannot store U+0000 in text: reject it in validation rather than fail on save.
    # A TextField's max_length reaches its form only, so the model validates the length itself.
    return [ProhibitNullCharactersValidator(), MaxLengthValidator(max_chars)]


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
    description = models.TextField(
        max_length=DESCRIPTION_MAX_CHARS, validators=text_validators(DESCRIPTION_MAX_CHARS)
    )
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

    def allows_notification_to(self, user):
        """Whether ``user`` may still be told of this ticket: may they open it now?

        Delivery asks this of every notification about the ticket just before it sends one, so
        a person who has lost access since the event (removed from ADMINS or the developers'
        group, no longer a manager, deactivated) receives nothing more of it.
        """
        from .access import may_view_ticket

        return may_view_ticket(user, self)

    def allowed_notification_recipients(self, users):
        """The pks of those of ``users`` who may still be told of this ticket: the batch form
        of ``allows_notification_to``, in one query for a whole batch of a delivery."""
        from django.contrib.auth import get_user_model

        from .access import viewers_among

        candidates = get_user_model().objects.filter(pk__in=[user.pk for user in users])
        return {user.pk for user in viewers_among(candidates, self)}


class HelpDeskTicketComment(models.Model):
    ticket = models.ForeignKey(HelpDeskTicket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="help_desk_comments"
    )
    body = models.TextField(max_length=COMMENT_MAX_CHARS, validators=text_validators(COMMENT_MAX_CHARS))
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
