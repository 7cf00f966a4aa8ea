"""Signals of delivery, sent with ``send_robust``: a receiver that raises is logged on the
``spire_notify`` logger and changes nothing about delivery."""

import logging

from django.db import transaction
from django.dispatch import Signal

from spire_notify.backends.base import describe_error
from spire_notify.store.models import Notification, NotificationStatus

logger = logging.getLogger("spire_notify")

# Sent after a delivery is recorded as "sent", with ``notification``.
notification_sent = Signal()
# Sent when a notification is given up (status "failed"), with ``notification`` and ``error``.
notification_failed = Signal()
# Sent when a notification ends "skipped" (nothing sent, deliberately), with ``notification`` and
# ``reason``.
notification_skipped = Signal()
# Sent once per batch, after the per-row signals, with ``notifications``: the rows of it now
# "sent" (in-app rows at the commit of notify(), the others once delivered). For receivers
# that act once per batch, such as the live inbox.
notifications_sent = Signal()
# Sent at the commit that marked in-app notifications read, with ``user_id`` and
# ``notifications`` (their pks, or None for all of that user's).
notifications_read = Signal()


def send_read_on_commit(user_id, notifications=None):
    """``notifications_read`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(
        lambda: notifications_read.send_robust(Notification, user_id=user_id, notifications=notifications)
    )


def send_signals(rows):
    """``notification_sent``, ``_failed`` or ``_skipped`` for each row in a final status."""
    for row in rows:
        if row.status == NotificationStatus.SENT:
            responses = notification_sent.send_robust(Notification, notification=row)
        elif row.status == NotificationStatus.FAILED:
            responses = notification_failed.send_robust(Notification, notification=row, error=row.last_error)
        elif row.status == NotificationStatus.SKIPPED:
            responses = notification_skipped.send_robust(
                Notification, notification=row, reason=row.last_error
            )
        else:
            continue
        for receiver, response in responses:
            if isinstance(response, Exception):
                logger.error("Signal receiver %r raised %s", receiver, describe_error(response))
    if sent := [row for row in rows if row.status == NotificationStatus.SENT]:
        notifications_sent.send_robust(Notification, notifications=sent)
