"""The help desk pages. Every view is decorated with ``deny_framing``: they must not be framed."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models.functions import Left
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from spire_notify.views import deny_framing

from .access import handles_tickets, visible_tickets
from .forms import CommentForm, StatusForm, TicketFilterForm, TicketForm
from .models import HelpDeskTicket

TICKETS_PER_PAGE = 25
# The list shows the start of each description; one character more tells the template to cut it.
SUMMARY_CHARS = 90


@deny_framing
@login_required
def ticket_list(request):
    filters = TicketFilterForm(request.GET)
    tickets = (
        HelpDeskTicket.objects.select_related("created_by")
        .defer("description")
        .annotate(summary=Left("description", SUMMARY_CHARS + 1))
    )
    tickets = filters.filter(visible_tickets(request.user, tickets))
    page = Paginator(tickets, TICKETS_PER_PAGE).get_page(request.GET.get("page"))
    # Page links keep the filters: only the page number changes.
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "helpdesk/ticket_list.html",
        {
            "filters": filters,
            "page": page,
            "filter_query": query.urlencode(),
            "handles_tickets": handles_tickets(request.user),
            "summary_chars": SUMMARY_CHARS,
        },
    )


@deny_framing
@login_required
def ticket_create(request):
    form = TicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ticket = HelpDeskTicket().services.create(created_by=request.user, **form.cleaned_data)
        messages.success(request, f"Ticket #{ticket.pk} created. The help desk team has been notified.")
        return redirect(ticket)
    status = 400 if form.is_bound else 200
    return render(request, "helpdesk/ticket_form.html", {"form": form}, status=status)


@deny_framing
@login_required
def ticket_detail(request, pk):
    return render_detail(request, get_visible_ticket(request, pk))


@deny_framing
@login_required
@require_POST
def ticket_change_status(request, pk):
    ticket = get_visible_ticket(request, pk)
    if not handles_tickets(request.user):
        raise PermissionDenied("Only developers and managers change a ticket's status.")
    form = StatusForm(request.POST)
    if not form.is_valid():
        return render_detail(request, ticket, status_form=form, status=400)
    if form.cleaned_data["status"] != ticket.status:
        ticket.services.change_status(form.cleaned_data["status"], changed_by=request.user)
        messages.success(request, f"Ticket #{ticket.pk} is now {ticket.get_status_display()}.")
    return redirect(ticket)


@deny_framing
@login_required
@require_POST
def ticket_add_comment(request, pk):
    ticket = get_visible_ticket(request, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return render_detail(request, ticket, comment_form=form, status=400)
    ticket.services.add_comment(author=request.user, body=form.cleaned_data["body"])
    messages.success(request, "Comment added.")
    return redirect(f"{ticket.get_absolute_url()}#comments")


def get_visible_ticket(request, pk):
    # 404, not 403, for a ticket the user may not see: its existence is not theirs to know.
    tickets = visible_tickets(request.user, HelpDeskTicket.objects.select_related("created_by"))
    return get_object_or_404(tickets, pk=pk)


def render_detail(request, ticket, *, status_form=None, comment_form=None, status=200):
    can_change_status = handles_tickets(request.user)
    return render(
        request,
        "helpdesk/ticket_detail.html",
        {
            "ticket": ticket,
            "comments": ticket.comments.select_related("author"),
            "can_change_status": can_change_status,
            "status_form": status_form or StatusForm(initial={"status": ticket.status}),
            "comment_form": comment_form or CommentForm(),
        },
        status=status,
    )
