"""Samples for spire-notify's email previews: one per ticket event, from unsaved objects."""

from django.contrib.auth import get_user_model

from spire_notify.channels.email.previews import register

from .choices import (
    HelpDeskTicketPriorityChoices,
    HelpDeskTicketPurposeChoices,
    HelpDeskTicketStatusChoices,
)
from .enums import TicketEventType
from .models import HelpDeskTicket, HelpDeskTicketComment
from .services.notification_service import HelpDeskTicketNotificationService

SAMPLE_DESCRIPTION = (
    "Login page throws a 500 error for SSO users.\n\n"
    'Steps: open /login, choose "Sign in with SSO", approve at the identity provider.\n'
    'Expected: the dashboard. Actual: "Server Error (500)" <after> the redirect.'
)


TEMPLATES = HelpDeskTicketNotificationService.email_templates


def sample_user(username):
    return get_user_model()(username=username)


def sample_ticket():
    return HelpDeskTicket(
        pk=1042,
        created_by=sample_user("ada"),
        purpose=HelpDeskTicketPurposeChoices.APP,
        priority=HelpDeskTicketPriorityChoices.HIGH,
        status=HelpDeskTicketStatusChoices.IN_PROGRESS,
        description=SAMPLE_DESCRIPTION,
    )


def sample_message(event, **details):
    return HelpDeskTicketNotificationService(sample_ticket()).build_message(event, **details)


@register(TEMPLATES[TicketEventType.NEW])
def new_ticket():
    return sample_message(TicketEventType.NEW)


@register(TEMPLATES[TicketEventType.UPDATE])
def status_update():
    return sample_message(TicketEventType.UPDATE, changed_by=sample_user("grace"))


@register(TEMPLATES[TicketEventType.COMMENT])
def comment():
    return sample_message(
        TicketEventType.COMMENT,
        comment=HelpDeskTicketComment(
            author=sample_user("grace"),
            body="Reproduced on staging: the SSO callback loses the session cookie. A fix is on the way.",
        ),
    )
