"""``{% load notification_channels %}``: what the installed apps add to a page, and its site name.

``{% page_parts place %}`` renders every installed app's part for a place of a page
(``spire_notify.channel_apps.PageParts``): ``"head"``, ``"links"``, ``"user"``, ``"inbox"``.
``{% inbox_channels %}`` is the inbox's: the channels' inbox parts and, where a channel offers
the user settings of their own, the link to the channels page.
``{% notification_site_name as site_name %}``: the current Site's name, for the layout's brand.
"""

from django import template
from django.apps import apps
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ObjectDoesNotExist
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from spire_notify.channel_apps import installed_channels, installed_page_parts

register = template.Library()


@register.simple_tag(takes_context=True)
def page_parts(context, place):
    request = context.get("request")
    rendered = []
    for pages in installed_page_parts():
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
        "parts": page_parts(context, "inbox"),
        "channels_url": reverse("spire_notify:channels") if offered else "",
    }


@register.simple_tag(takes_context=True)
def notification_site_name(context):
    """The current Site's name; ``""`` without django.contrib.sites, without a request to find
    the Site by (a page rendered outside a view), or when no Site matches (no SITE_ID and an
    unknown host), so that the layout falls back to its own title."""
    request = context.get("request")
    if request is None or not apps.is_installed("django.contrib.sites"):
        return ""
    try:
        # The sites framework caches the Site: one query per process, not per page.
        return get_current_site(request).name
    except ObjectDoesNotExist:
        return ""
