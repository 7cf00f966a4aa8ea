"""The in-app inbox: list, badge count, open, mark read. Every state change is a POST.

Every view here is decorated with ``deny_framing``: a page of one-click buttons must not be
framed by another site.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models.fields.json import KT
from django.db.models.functions import Left
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from spire_notify.channels.app.models import AppNotification, inbox_of, unread_among
from spire_notify.store.signals import send_read_on_commit
from spire_notify.views import deny_framing

NOTIFICATIONS_PER_PAGE = 20
# The inbox shows the start of a body; the notification's page has the rest.
INBOX_BODY_CHARS = 300
# What the inbox shows of a row. The message (payload) and the body may be large, since a
# comment's whole text travels in them, so the page loads the priority and the body's start.
INBOX_FIELDS = ["title", "created_at", "app__read_at"]


def unread_count(user):
    return unread_among(inbox_of(user)).count()


@deny_framing
@login_required
def inbox(request):
    notifications = (
        inbox_of(request.user)
        .select_related("app")
        .only(*INBOX_FIELDS)
        .annotate(priority=KT("payload__priority"), body_start=Left("body", INBOX_BODY_CHARS + 1))
    )
    page = Paginator(notifications, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "spire_notify/inbox.html", {"page": page, "body_chars": INBOX_BODY_CHARS})


@deny_framing
@never_cache
@login_required
@require_GET
def unread_count_json(request):
    """What the navbar badge polls."""
    return JsonResponse({"unread": unread_count(request.user)})


@deny_framing
@login_required
@require_POST
def open_notification(request, pk):
    """Mark the notification read and go to its URL, if that URL stays on this site."""
    notification = get_object_or_404(inbox_of(request.user), pk=pk)
    _mark_read(notification)
    target = safe_url(request, notification.url)
    # Not redirect(): it would take a URL such as "inbox" for the name of a view.
    return HttpResponseRedirect(target or reverse("spire_notify:inbox"))


@deny_framing
@login_required
@require_POST
def mark_read(request, pk):
    notification = get_object_or_404(inbox_of(request.user), pk=pk)
    _mark_read(notification)
    return _back_to_inbox(request)


@deny_framing
@login_required
@require_POST
def mark_all_read(request):
    if AppNotification.objects.of(inbox_of(request.user)).mark_read():
        send_read_on_commit(request.user.pk)
    return _back_to_inbox(request)


def safe_url(request, url):
    """``url`` if it stays on this site, else ``""``.

    Same host and no other scheme than the request's, so ``javascript:``, ``//evil.example``
    and other hosts are refused. Django's check strips the URL first and lets "//" pass (no
    host at all), so the stripped URL is what is checked and returned, and "//" is refused.
    """
    url = (url or "").strip()
    allowed = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if allowed and url and not url.startswith("//") else ""


def _mark_read(notification):
    # Filtering on read_at keeps the time it was first read.
    if AppNotification.objects.filter(notification_id=notification.pk).mark_read():
        send_read_on_commit(notification.user_id, [notification.pk])


def _back_to_inbox(request):
    # "next" lets the page keep the user where they were (another inbox page, the page linked).
    target = safe_url(request, request.POST.get("next", ""))
    return HttpResponseRedirect(target or reverse("spire_notify:inbox"))
