"""The forms of the help desk pages; saving goes through ``ticket.services``."""

from django import forms

from .choices import HelpDeskTicketPriorityChoices, HelpDeskTicketStatusChoices
from .models import COMMENT_MAX_CHARS, HelpDeskTicket

EMPTY_DESCRIPTION = "Describe the problem: the description cannot be empty."
EMPTY_COMMENT = "Write something in the comment."


class TicketForm(forms.ModelForm):
    class Meta:
        model = HelpDeskTicket
        fields = ["purpose", "priority", "description"]
        widgets = {
            "description": forms.Textarea(
                attrs={
                    "rows": 8,
                    "placeholder": "What happened, what you expected, and how to reproduce it.",
                }
            ),
        }
        help_texts = {"description": "Developers see exactly what you write here."}
        # Form CharFields strip whitespace, so whitespace alone is "required" too.
        error_messages = {"description": {"required": EMPTY_DESCRIPTION}}


class TicketFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *HelpDeskTicketStatusChoices.choices], required=False
    )
    priority = forms.ChoiceField(
        choices=[("", "Any priority"), *HelpDeskTicketPriorityChoices.choices], required=False
    )

    def filter(self, tickets):
        """``tickets`` narrowed by the valid, non-empty filters."""
        if not self.is_valid():
            return tickets
        chosen = {name: value for name, value in self.cleaned_data.items() if value}
        return tickets.filter(**chosen)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=HelpDeskTicketStatusChoices.choices)


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Add a comment",
        max_length=COMMENT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": EMPTY_COMMENT},
    )
