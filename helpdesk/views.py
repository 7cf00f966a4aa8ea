from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from .access import visible_tickets
from .models import HelpDeskTicket


@login_required
def ticket_detail(request, pk):
    # 404, not 403, for a ticket the user may not see: its existence is not theirs to know.
    ticket = get_object_or_404(
        visible_tickets(request.user, HelpDeskTicket.objects.select_related("created_by")), pk=pk
    )
    return render(request, "helpdesk/ticket_detail.html", {"ticket": ticket})
