"""The preferences page, the channels page and the one-click unsubscribe endpoint.

The preferences page is a signed-in user's table of every registered type by every configured
channel. The channels page ("Chat and browser alerts") shows the section of each installed channel
that offers the user settings of their own (``spire_notify.channel_apps.ChannelPages``).
The unsubscribe URL needs no session: its token is the authority, and mail providers POST to
it without a CSRF token (RFC 8058), so it is exempt; a GET only asks for confirmation,
because link scanners fetch every URL of a message.

Every page of the package and of its channels refuses to be framed (``deny_framing``): the
inbox and the pages built on it change state with one click on a button (a POST), so a hostile
page that framed them invisibly could borrow a click (clickjacking). Django's
``XFrameOptionsMiddleware`` would answer that, but a project may leave it out, so each view sends
``X-Frame-Options: DENY`` itself. Not a CSP ``frame-ancestors``: a view's own
``Content-Security-Policy`` header would stand in for the project's whole policy.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from spire_notify import conf
from spire_notify.channel_apps import installed_channels
from spire_notify.exceptions import ChannelNotOffered, UnknownChannel
from spire_notify.models import DeliveryMode
from spire_notify.notification_types import all_types, get_type
from spire_notify.preferences import channel_gathers_digests, modes_for, set_preference
from spire_notify.unsubscribe import read_token


def deny_framing(view):
    """Decorate ``view`` so that its responses say ``X-Frame-Options: DENY``.

    Apply it outermost, so redirects to the login page carry it too. A response that already
    sets the header keeps it: a view that means to be framed says so. For a class-based view,
    decorate what ``as_view()`` returns.
    """
    return xframe_options_deny(view)


ONE_CLICK_FIELD, ONE_CLICK_VALUE = "List-Unsubscribe", "One-Click"


def channel_label(channel):
    return channel.replace("_", " ").capitalize()


def field_name(notification_type, channel):
    return f"{notification_type.key}:{channel}"


def channel_modes(channel):
    """The modes offered on ``channel``: ``digest`` only where its backend sends digests."""
    return [
        (value, label)
        for value, label in DeliveryMode.choices
        if value != DeliveryMode.DIGEST or channel_gathers_digests(channel)
    ]


def preference_rows(user, channels):
    """One row per registered type: its cells, one per channel, with the user's mode and the
    modes the channel offers."""
    rows = []
    offered = {channel: channel_modes(channel) for channel in channels}
    for notification_type in all_types():
        modes = modes_for(notification_type.key, [user], channels)
        cells = [
            {
                "channel": channel,
                "label": channel_label(channel),
                "field": field_name(notification_type, channel),
                "mode": modes[user, channel],
                "modes": offered[channel],
            }
            for channel in channels
        ]
        rows.append({"type": notification_type, "cells": cells})
    return rows


@xframe_options_deny
@login_required
@require_http_methods(["GET", "POST"])
def preferences_page(request):
    channels = list(conf.backend_settings())
    rows = preference_rows(request.user, channels)
    if request.method == "POST":
        for row in rows:
            if row["type"].mandatory:
                continue
            for cell in row["cells"]:
                if cell["channel"] not in row["type"].channels:
                    continue  # the type is not sent on it: there is nothing to choose
                mode = request.POST.get(cell["field"])
                if mode in dict(cell["modes"]) and mode != cell["mode"]:
                    set_preference(request.user, row["type"].key, cell["channel"], mode)
        messages.success(request, _("Your notification settings were saved."))
        return redirect("spire_notify:preferences")
    context = {
        "rows": rows,
        "channels": [{"alias": channel, "label": channel_label(channel)} for channel in channels],
    }
    return render(request, "spire_notify/preferences.html", context)


@csrf_exempt
@never_cache
@xframe_options_deny
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    try:
        wanted = read_token(token)
        notification_type = get_type(wanted.type_key)
        recipient = _recipient(wanted.recipient)
    except (signing.BadSignature, LookupError, TypeError, ValueError):
        return _unsubscribe_page(request, "invalid", status=400)
    context = {"type": notification_type, "channel": channel_label(wanted.channel)}
    if notification_type.mandatory:
        return _unsubscribe_page(
            request, "mandatory", context, status=403 if request.method == "POST" else 200
        )
    if request.method == "GET":
        return _unsubscribe_page(request, "confirm", context)
    if request.POST.get(ONE_CLICK_FIELD) != ONE_CLICK_VALUE:
        return _unsubscribe_page(request, "invalid", status=400)
    try:
        set_preference(recipient, notification_type.key, wanted.channel, DeliveryMode.OFF)
    except (UnknownChannel, ChannelNotOffered):
        return _unsubscribe_page(request, "invalid", status=400)
    return _unsubscribe_page(request, "done", context)


def _recipient(key):
    """The user or the guest's address a token names; ``LookupError`` for a deleted user."""
    kind, value = key
    if kind == "email":
        return str(value)
    if kind != "user":
        raise ValueError(kind)
    user = get_user_model().objects.filter(pk=value).first()
    if user is None:
        raise LookupError(value)
    return user


def _unsubscribe_page(request, state, context=None, *, status=200):
    context = (context or {}) | {"state": state, "field": ONE_CLICK_FIELD, "value": ONE_CLICK_VALUE}
    response = render(request, "spire_notify/unsubscribe.html", context, status=status)
    # The token is in this page's URL: never hand it to another site as a Referer.
    response["Referrer-Policy"] = "no-referrer"
    return response


@deny_framing
@login_required
def channels(request):
    """The installed channels' own settings. A POST goes to each channel in turn until one takes
    it: that channel answers (a redirect once saved), or its section shows the form's errors."""
    posted = {}
    if request.method == "POST":
        for channel in installed_channels():
            answer = channel.channel_pages.settings_post(request)
            if isinstance(answer, HttpResponseBase):
                return answer
            if answer is not None:
                posted[channel.label] = answer
                break
    return render(request, "spire_notify/channels.html", channels_context(request, posted))


def channels_context(request, posted=None):
    """What ``spire_notify/channels_section.html`` shows; a page that embeds the section adds
    this to its own context. ``posted``: a channel's section context after a POST it refused,
    by app label."""
    posted = posted or {}
    sections = []
    for channel in installed_channels():
        pages = channel.channel_pages
        if pages.settings_template and pages.offers_settings(request):
            context = posted.get(channel.label) or pages.settings_context(request)
            sections.append(render_to_string(pages.settings_template, context, request))
    return {"channel_sections": sections}
