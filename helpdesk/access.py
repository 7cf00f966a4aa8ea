"""Who may see a ticket: its creator, developers and managers."""

from django.db.models import Q

from .recipients import ticket_audience


def visible_tickets(user, tickets):
    if ticket_audience().filter(pk=user.pk).exists():
        return tickets
    return tickets.filter(Q(created_by=user))
