"""Who may see a ticket (its creator, developers and managers) and who may move it along."""

from django.db.models import Q

from .recipients import ticket_audience


def handles_tickets(user):
    """Developers and managers: they see every ticket and change its status.

    Remembered on the user object, which lives for one request, so a page that asks twice
    queries once.
    """
    if not hasattr(user, "_helpdesk_handles_tickets"):
        user._helpdesk_handles_tickets = ticket_audience().filter(pk=user.pk).exists()
    return user._helpdesk_handles_tickets


def visible_tickets(user, tickets):
    if handles_tickets(user):
        return tickets
    return tickets.filter(Q(created_by=user))
