"""Delivery: claim ready notifications, render them per channel, send, record the outcome.

``process_notifications()`` is the one delivery function; the ``django.tasks`` task, the
``process_notifications`` command (once or ``--loop``) and the Celery task all call it.
"""

import json
import logging
from collections import Counter, defaultdict
from itertools import groupby

from django.utils import timezone

from backends.base import Delivery, Outcome, describe_error

from . import conf
from .claims import claim_batch
from .exceptions import UnknownChannel
from .handler import backends
from .message import Message, Recipient
from .models import Notification, NotificationStatus
from .retry import retry_delay, status_after_failure
from .signals import notification_failed, notification_sent

logger = logging.getLogger("spire_notify")

RECORDED_FIELDS = [
    "status", "body", "url", "sent_at", "last_error", "next_attempt_at", "lease_expires_at",
]


def process_notifications(*, batch_size=None, max_batches=None, using="default"):
    """Deliver every ready notification, batch after batch, until none is ready.

    Returns the counts of this run: ``{"sent": …, "errored": …, "failed": …}``. Raises
    ``ImproperlyConfigured`` before claiming anything if a backend cannot deliver at all.
    """
    for backend in backends.all():
        backend.validate()
    batch_size = batch_size or conf.get("NOTIFY_BATCH_SIZE")
    counts = Counter({"sent": 0, "errored": 0, "failed": 0})
    batches = 0
    while max_batches is None or batches < max_batches:
        batch = claim_batch(batch_size, lease_seconds=conf.get("NOTIFY_LEASE_SECONDS"), using=using)
        if not batch:
            break
        counts.update(deliver_batch(batch, using=using))
        batches += 1
    return dict(counts)


def deliver_batch(notifications, *, using="default"):
    """Deliver claimed rows channel by channel; one failure never stops the others."""
    counts = Counter()
    by_channel = defaultdict(list)
    for notification in notifications:
        by_channel[notification.channel].append(notification)
    for alias, rows in by_channel.items():
        outcomes = _deliver_channel(alias, rows)
        counts.update(_record(rows, outcomes, using=using))
    return counts


def _deliver_channel(alias, rows):
    """One ``Outcome`` per row, in order."""
    try:
        backend = backends[alias]
    except UnknownChannel as error:
        return [Outcome.permanent_failure(str(error))] * len(rows)
    outcomes = {}
    deliveries = []
    for rows_of_message in _group_by_message(rows):
        first = rows_of_message[0]
        message = Message.from_payload(first.payload, title=first.title, target=first.content_object)
        try:
            renderings = backend.render_many(message, [_recipient(row) for row in rows_of_message])
        except Exception as error:
            logger.exception("Rendering %r for %s failed", message.event, backend)
            outcomes.update({row.pk: Outcome.temporary(describe_error(error)) for row in rows_of_message})
            continue
        for row, rendered in zip(rows_of_message, renderings, strict=True):
            row.body, row.url = rendered.body, rendered.url
            deliveries.append(Delivery(notification=row, rendered=rendered))
    outcomes.update(_send(backend, deliveries))
    return [outcomes[row.pk] for row in rows]


def _send(backend, deliveries):
    if not deliveries:
        return {}
    try:
        results = backend.send(deliveries)
    except Exception as error:
        # A backend must report failures per item; one that raises anyway fails its batch
        # temporarily rather than leaving the rows stuck in "processing".
        logger.exception("%s.send() raised", backend)
        results = [Outcome.temporary(describe_error(error))] * len(deliveries)
    return {delivery.notification.pk: result for delivery, result in zip(deliveries, results, strict=True)}


def _group_by_message(rows):
    """Rows of the same message, so that a backend renders each message once."""
    def key(row):
        return (row.title, row.content_type_id or 0, row.object_id, json.dumps(row.payload, sort_keys=True))

    return [list(group) for _, group in groupby(sorted(rows, key=key), key=key)]


def _recipient(row):
    detail = getattr(row, "email", None)
    user = row.user
    return Recipient(
        user_id=row.user_id,
        email=detail.to_email_address if detail else getattr(user, user.get_email_field_name(), ""),
        name=user.get_full_name() if hasattr(user, "get_full_name") else str(user),
    )


def _record(rows, outcomes, *, using):
    now = timezone.now()
    max_attempts = conf.get("NOTIFY_MAX_ATTEMPTS")
    counts = Counter()
    for row, outcome in zip(rows, outcomes, strict=True):
        row.lease_expires_at = None
        if outcome.sent:
            row.status, row.sent_at, row.last_error = NotificationStatus.SENT, now, ""
        else:
            row.last_error = outcome.error
            row.status = status_after_failure(
                attempts=row.attempts, max_attempts=max_attempts, permanent=outcome.permanent
            )
            row.next_attempt_at = now + retry_delay(
                row.attempts,
                base=conf.get("NOTIFY_RETRY_BASE_DELAY"),
                cap=conf.get("NOTIFY_RETRY_MAX_DELAY"),
            )
        counts[row.status] += 1
    token = rows[0].claimed_by
    # Only rows this worker still holds: if its lease ran out and another worker took them,
    # that worker's record wins.
    Notification.objects.using(using).filter(claimed_by=token).bulk_update(rows, RECORDED_FIELDS)
    _send_signals(rows)
    return counts


def _send_signals(rows):
    for row in rows:
        if row.status == NotificationStatus.SENT:
            responses = notification_sent.send_robust(Notification, notification=row)
        elif row.status == NotificationStatus.FAILED:
            responses = notification_failed.send_robust(Notification, notification=row, error=row.last_error)
        else:
            continue
        for receiver, response in responses:
            if isinstance(response, Exception):
                logger.error("Signal receiver %r raised %s", receiver, describe_error(response))
