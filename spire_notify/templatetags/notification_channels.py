"""``{% load notification_channels %}``: what the installed channels add to a page.

``{% channel_parts place %}`` renders every installed channel's part for a place of a page
(``spire_notify.channel_apps.ChannelPages``): ``"head"``, ``"links"``, ``"user"``, ``"inbox"``.
``{% inbox_channels %}`` is the inbox's: the channels' inbox parts and, where a channel offers
the user settings of their own, the link to the channels page.
"""

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from spire_notify.channel_apps import installed_channels

register = template.Library()


@register.simple_tag(takes_context=True)
def channel_parts(context, place):
    request = context.get("request")
    rendered = []
    for channel in installed_channels():
        pages = channel.channel_pages
        template_name = pages.parts.get(place)
        part = None if template_name is None else pages.part_context(place, request)
        if part is not None:
            rendered.append(render_to_string(template_name, part, request))
    # Each part is a template's output, escaped by its own engine.
    return mark_safe("".join(rendered))


@register.inclusion_tag("spire_notify/inbox_channels.html", takes_context=True)
def inbox_channels(context):
    request = context.get("request")
    offered = any(channel.channel_pages.offers_settings(request) for channel in installed_channels())
    return {
        "parts": channel_parts(context, "inbox"),
        "channels_url": reverse("spire_notify:channels") if offered else "",
    }
