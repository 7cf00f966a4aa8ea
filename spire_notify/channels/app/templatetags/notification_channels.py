"""``{% load notification_channels %}``: ``{% inbox_channels %}``, what the inbox offers of the
optional channels: "Enable browser notifications", the link to the user's chat addresses, and
the template the live inbox fills for a new notification."""

from django import template
from django.urls import reverse

from spire_notify.channels.apprise.views import per_user_apprise_enabled
from spire_notify.channels.live import events as live
from spire_notify.channels.webpush.views import push_backend, push_button_context

register = template.Library()


@register.inclusion_tag("spire_notify/inbox_channels.html", takes_context=True)
def inbox_channels(context):
    push = push_backend()
    return {
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
        **push_button_context(push),
        "channels_url": reverse("spire_notify:channels") if per_user_apprise_enabled() or push else "",
        "live": live.enabled(),
    }
