"""``{% load notification_tags %}``: ``{% notification_badge %}``, the unread count for any navbar,
and the ``ago`` filter of the inbox's times."""

from datetime import timedelta

from django import template
from django.apps import apps
from django.urls import reverse
from django.utils.timesince import timesince

from spire_notify import clock, conf
from spire_notify.channels.app.views import unread_count

register = template.Library()

# The live inbox is a channel of its own: the badge follows its stream only where it is installed.
LIVE_CHANNEL = "spire_notify.channels.live"


@register.inclusion_tag("spire_notify/badge.html", takes_context=True)
def notification_badge(context):
    """A link to the inbox with the user's unread count, kept current by ``badge.js``.

    One COUNT query per page; nothing for anonymous users.
    """
    return badge_context(context.get("user") or getattr(context.get("request"), "user", None))


def badge_context(user):
    """What ``spire_notify/badge.html`` shows ``user``: nothing for anonymous users."""
    if user is None or not user.is_authenticated:
        return {"show": False}
    poll_seconds = conf.get("NOTIFY_BADGE_POLL_SECONDS")
    return {
        "show": True,
        "count": unread_count(user),
        "inbox_url": reverse("spire_notify:inbox"),
        "count_url": reverse("spire_notify:unread_count"),
        "poll_milliseconds": int(poll_seconds * 1000),
        "events_url": live_events_url(),
    }


def live_events_url():
    """The live inbox's stream, where that channel is installed and on; else the badge polls."""
    if not (apps.is_installed(LIVE_CHANNEL) and conf.get("NOTIFY_LIVE_UPDATES")):
        return ""
    return reverse("spire_notify:live_events")


@register.filter
def ago(moment):
    """ "just now" for the last minute, else "5 minutes ago": the inbox's time of a notification."""
    if clock.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"
