"""Who may see a ticket (its creator, developers and managers) and who may move it along.

The pages, the audience of a comment and delivery's last check before sending
(``HelpDeskTicket.allows_notification_to``) all ask these functions, so a person who may not
open a ticket hears nothing of it either.
"""

from django.contrib.auth import get_user_model
from django.db.models import Q

from .recipients import with_roles


def is_ticket_handler(user):
    """Whether ``user`` is, right now, an active developer or manager. One query."""
    users = get_user_model().objects.filter(pk=user.pk, is_active=True)
    return bool(with_roles(users, handlers_only=True))


def handles_tickets(user):
    """Developers and managers: they see every ticket and change its status.

    Remembered on the user object, which lives for one request, so a page that asks twice
    queries once.
    """
    if not hasattr(user, "_helpdesk_handles_tickets"):
        user._helpdesk_handles_tickets = is_ticket_handler(user)
    return user._helpdesk_handles_tickets


def visible_tickets(user, tickets):
    if handles_tickets(user):
        return tickets
    return tickets.filter(Q(created_by=user))


def viewers_among(users, ticket):
    """Those of ``users`` (a queryset) who may open ``ticket`` now, as a list. One query.

    The rules of ``visible_tickets``: an active user who created the ticket, or who is a
    developer or a manager.
    """
    return [
        user
        for user in with_roles(users.filter(is_active=True))
        if user.pk == ticket.created_by_id or user.is_developer or user.is_manager
    ]


def may_view_ticket(user, ticket):
    """Whether ``user`` may open ``ticket`` now; asked afresh every time, never remembered."""
    if user is None:
        return False
    return bool(viewers_among(get_user_model().objects.filter(pk=user.pk), ticket))
