"""Delivery: claim ready notifications, render them per channel, send, record the outcome.

``process_notifications()`` is the one delivery function; the ``django.tasks`` task, the
``process_notifications`` command (once or ``--loop``) and the Celery task all call it.
"""

import json
import logging
from collections import Counter, defaultdict
from itertools import groupby

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from spire_notify.backends.base import Delivery, Outcome, describe_error

from . import conf
from .claims import claim_batch, give_up_abandoned, release_claim, renew_lease
from .exceptions import UnknownChannel
from .handler import backends
from .message import Message, Recipient
from .models import Notification, NotificationStatus
from .retry import retry_delay, status_after_failure
from .signals import notification_failed, notification_sent

logger = logging.getLogger("spire_notify")

RECORDED_FIELDS = [
    "status",
    "body",
    "url",
    "sent_at",
    "last_error",
    "next_attempt_at",
    "lease_expires_at",
]


def validate_backends():
    """Raise ``ImproperlyConfigured`` if any configured backend cannot deliver at all."""
    for backend in backends.all():
        backend.validate()


def process_notifications(*, batch_size=None, max_batches=None, using="default"):
    """Deliver every ready notification, batch after batch, until none is ready.

    Returns the counts of this run: ``{"sent": …, "errored": …, "failed": …}``. Raises
    ``ImproperlyConfigured`` before claiming anything if a backend cannot deliver at all.
    """
    validate_backends()
    batch_size = batch_size or conf.get("NOTIFY_BATCH_SIZE")
    counts = Counter({"sent": 0, "errored": 0, "failed": 0})
    batches = 0
    while max_batches is None or batches < max_batches:
        given_up = give_up_abandoned(max_attempts=conf.get("NOTIFY_MAX_ATTEMPTS"), using=using)
        counts["failed"] += len(given_up)
        _send_signals(given_up)
        batch = claim_batch(batch_size, lease_seconds=conf.get("NOTIFY_LEASE_SECONDS"), using=using)
        if not batch:
            break
        counts.update(deliver_batch(batch, using=using))
        batches += 1
    return dict(counts)


def deliver_batch(notifications, *, using="default"):
    """Deliver claimed rows channel by channel; one failure never stops the others.

    A configuration error is the exception: it stops the worker, and the rows not yet
    delivered are handed back untouched for a worker that is configured correctly.
    """
    counts = Counter()
    by_channel = defaultdict(list)
    for notification in notifications:
        by_channel[notification.channel].append(notification)
    try:
        for alias, rows in by_channel.items():
            counts.update(_deliver_channel(alias, rows, using=using))
    except ImproperlyConfigured as error:
        release_claim(notifications[0].claimed_by, reason=describe_error(error), using=using)
        raise
    return counts


def _deliver_channel(alias, rows, *, using):
    try:
        backend = backends[alias]
    except UnknownChannel as error:
        # Rows written for a channel that has since been removed from NOTIFY_BACKENDS: no
        # worker can ever deliver them, and they must not stop delivery on the other channels.
        return _record(rows, [Outcome.permanent_failure(str(error))] * len(rows), using=using)
    outcomes = {}
    deliveries = []
    for rows_of_message in _group_by_message(rows):
        for row, rendered in zip(rows_of_message, _render(backend, rows_of_message), strict=True):
            if isinstance(rendered, Outcome):
                outcomes[row.pk] = rendered
            else:
                row.body, row.url = rendered.body, rendered.url
                deliveries.append(Delivery(notification=row, rendered=rendered))
    if deliveries:
        held = renew_lease(
            [delivery.notification for delivery in deliveries],
            lease_seconds=conf.get("NOTIFY_LEASE_SECONDS"),
            using=using,
        )
        held_pks = {row.pk for row in held}
        to_send = [delivery for delivery in deliveries if delivery.notification.pk in held_pks]
        if to_send:
            outcomes.update(_send(backend, to_send))
    recorded = [row for row in rows if row.pk in outcomes]
    return _record(recorded, [outcomes[row.pk] for row in recorded], using=using)


def _render(backend, rows):
    """One ``Rendered`` per row, or the ``Outcome`` of a row that could not be rendered."""
    first = rows[0]
    try:
        # Inside the try: a payload written by an older version must fail its rows, not the worker.
        message = Message.from_payload(first.payload, title=first.title, target=first.content_object)
        return backend.render_many(message, [_recipient(row) for row in rows])
    except ImproperlyConfigured:
        raise
    except Exception as error:
        if len(rows) > 1:
            # Render one by one, so that only the rows that cannot be rendered fail.
            return [item for row in rows for item in _render(backend, [row])]
        logger.exception("%s could not render notification %s", backend, first.pk)
        return [Outcome.temporary(describe_error(error))]


def _send(backend, deliveries):
    """``{notification pk: Outcome}`` for ``deliveries``."""
    try:
        results = backend.send(deliveries)
    except ImproperlyConfigured:
        raise
    except Exception as error:
        # The contract says send() reports failures per item. A backend that raises anyway
        # is tried again one delivery at a time, so that only the row that breaks it fails
        # and a single bad row cannot fail its whole batch on every attempt.
        if len(deliveries) > 1:
            return {
                pk: outcome for delivery in deliveries for pk, outcome in _send(backend, [delivery]).items()
            }
        logger.exception("%s.send() raised for notification %s", backend, deliveries[0].notification.pk)
        results = [Outcome.temporary(describe_error(error))]
    return {delivery.notification.pk: result for delivery, result in zip(deliveries, results, strict=True)}


def _group_by_message(rows):
    """Rows of the same message, so that a backend renders each message once."""

    def key(row):
        return (row.title, row.content_type_id or 0, row.object_id, json.dumps(row.payload, sort_keys=True))

    return [list(group) for _, group in groupby(sorted(rows, key=key), key=key)]


def _recipient(row):
    # An email row keeps the address it was written for, even if the user's changed since.
    detail = getattr(row, "email", None)
    if detail is None:
        return Recipient.for_user(row.user)
    return Recipient.for_user(row.user, email=detail.to_email_address)


def _record(rows, outcomes, *, using):
    """Write each row's outcome, if this worker still holds the row, and signal it."""
    if not rows:
        return Counter()
    now = timezone.now()
    max_attempts = conf.get("NOTIFY_MAX_ATTEMPTS")
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
    token = rows[0].claimed_by
    # Only rows this worker still holds: if its lease ran out and another worker took them,
    # that worker's record wins.
    held = Notification.objects.using(using).filter(claimed_by=token, status=NotificationStatus.PROCESSING)
    recorded = set()
    for values, pks in _group_by_values(rows).items():
        updated = held.filter(pk__in=pks).update(**dict(zip(RECORDED_FIELDS, values, strict=True)))
        if updated == len(pks):
            recorded.update(pks)
        else:
            # A worker that takes a row over stamps its own token on it: ours are the rest.
            ours = Notification.objects.using(using).filter(pk__in=pks, claimed_by=token)
            recorded.update(ours.values_list("pk", flat=True))
    if len(recorded) < len(rows):
        logger.warning("%d notification(s) were taken over by another worker.", len(rows) - len(recorded))
        rows = [row for row in rows if row.pk in recorded]
    _send_signals(rows)
    return Counter(row.status for row in rows)


def _group_by_values(rows):
    """``{recorded values: pks}``: the rows of one message share their rendering and, mostly,
    their outcome, so one UPDATE records each group; ``bulk_update``'s CASE per field per row
    was a quarter of the time of delivering a batch of email."""
    groups = defaultdict(list)
    for row in rows:
        groups[tuple(getattr(row, field) for field in RECORDED_FIELDS)].append(row.pk)
    return groups


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
