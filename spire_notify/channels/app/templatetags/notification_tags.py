"""``{% load notification_tags %}``: ``{% notification_badge %}``, the unread count for any navbar,
and the ``ago`` filter of the inbox's times."""

from datetime import timedelta

from django import template
from django.urls import reverse
from django.utils.timesince import timesince

from spire_notify import clock, conf
from spire_notify.channels.app.views import unread_count

register = template.Library()


@register.inclusion_tag("spire_notify/badge.html", takes_context=True)
def notification_badge(context):
    """A link to the inbox with the user's unread count, kept current by ``badge.js``.

    One COUNT query per page; nothing for anonymous users.
    """
    user = context.get("user") or getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    poll_seconds = conf.get("NOTIFY_BADGE_POLL_SECONDS")
    return {
        "show": True,
        "count": unread_count(user),
        "inbox_url": reverse("spire_notify:inbox"),
        "count_url": reverse("spire_notify:unread_count"),
        "poll_milliseconds": int(poll_seconds * 1000),
        "events_url": reverse("spire_notify:live_events") if conf.get("NOTIFY_LIVE_UPDATES") else "",
    }


@register.filter
def ago(moment):
    """ "just now" for the last minute, else "5 minutes ago": the inbox's time of a notification."""
    if clock.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"
