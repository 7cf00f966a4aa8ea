"""What ``notify()`` refuses before it writes anything: the names a caller can mistype.

A misspelt channel, event or template used to change behaviour without a word: a channel the
type is not sent on was dropped as if every recipient had switched it off, a misspelt event
went out with no preference applied, and a template that does not exist failed only in the
worker. Each is checked once per call, never per recipient, and costs no query:

- every channel named is an alias of ``NOTIFY_BACKENDS`` (``UnknownChannel``), whatever the event;
- a registered type that can be switched off is sent on the channels it lists, default or
  optional, and on no other (``ChannelNotOffered``); a mandatory type on any configured channel;
- an event no type registers is logged, or refused, as ``NOTIFY_UNKNOWN_EVENTS`` says;
- each channel's backend can render the message's template (``check_template()``, which the
  backend answers from a cache), else ``ValidationError({"template": ...})``.

What a recipient decides (no address, a guest on the inbox, a type switched off) is not a typo:
those stay silent skips of the write side.
"""

import logging

from django.core.exceptions import ValidationError

from spire_notify import conf
from spire_notify.exceptions import ChannelNotOffered, UnknownChannel, UnknownNotificationType
from spire_notify.handler import notify_backends
from spire_notify.notification_types import lookup

logger = logging.getLogger("spire_notify")


def check_aliases(channels):
    """Raise ``UnknownChannel`` for the first of ``channels`` that ``NOTIFY_BACKENDS`` lacks."""
    configured = conf.backend_settings()
    for alias in channels:
        if alias not in configured:
            raise UnknownChannel(alias)


def check_message(messages, channels):
    """Check the event and templates of ``messages`` (one message as built per language) for
    ``channels``, the aliases named in the call, whose configuration ``check_aliases()`` passed."""
    event = messages[0].event
    notification_type = lookup(event)
    if notification_type is None:
        unregistered(event)
    elif not notification_type.mandatory:
        for alias in channels:
            if alias not in notification_type.channels:
                raise ChannelNotOffered(event, alias, notification_type.channels)
    problems = [
        problem
        for template in dict.fromkeys(message.template for message in messages if message.template)
        for alias in channels
        if (problem := notify_backends[alias].check_template(template))
    ]
    if problems:
        raise ValidationError({"template": problems})


def unregistered(event):
    """Warn of ``event``, which no type registers, or refuse it (``NOTIFY_UNKNOWN_EVENTS``)."""
    problem = (
        f"notify(): the event {event!r} is not a registered notification type, so no recipient's "
        "preference applies to it and nothing sent of it can be unsubscribed from. Register it with "
        f"spire_notify.notification_types.register({event!r}, ...), or declare a Notifier whose key "
        f"is {event!r}."
    )
    if conf.get("NOTIFY_UNKNOWN_EVENTS") == "error":
        raise UnknownNotificationType(event, problem)
    logger.warning('%s NOTIFY_UNKNOWN_EVENTS = "error" refuses such events.', problem)
