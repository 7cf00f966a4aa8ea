"""Claiming ready notifications so that concurrent workers never deliver the same row twice.

A claim is an ``UPDATE … WHERE pk IN (SELECT … LIMIT n)`` (for abandoned rows, then for due
ones) that stamps the rows with a fresh token and a lease. On PostgreSQL the inner select takes
``FOR UPDATE SKIP LOCKED``, so workers pass each other's rows by instead of waiting; on SQLite
each statement is atomic under its one writer. A worker that dies leaves rows "processing"; once
their lease expires they are ready again.
"""

import os
import socket
import uuid
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction
from django.db.models import Case, F, Q, Value, When

from . import clock
from .models import Notification, NotificationStatus

RETRYABLE = [NotificationStatus.PENDING, NotificationStatus.ERRORED]

ABANDONED_ON_LAST_ATTEMPT = (
    "Given up: the worker delivering the last attempt stopped before recording it (its lease expired)."
)


def ready_q(now):
    return due_q(now) | abandoned_q(now)


def due_q(now):
    return Q(status__in=RETRYABLE, next_attempt_at__lte=now, send_after__lte=now)


def abandoned_q(now):
    return Q(status=NotificationStatus.PROCESSING, lease_expires_at__lte=now)


def new_token():
    """Unique per claim, and readable in the admin: which host and process holds a row."""
    return f"{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def count_ready(*, using="default"):
    return Notification.objects.using(using).filter(ready_q(clock.now())).count()


def claim_batch(size, *, lease_seconds, channels=None, exclude_channels=None, using="default"):
    """Claim up to ``size`` ready rows; returns them with their users and detail rows loaded.

    ``channels`` limits the claim to those aliases (the worker claims one channel at a time, so
    that a slow channel never holds rows of another), ``exclude_channels`` leaves them out.
    Claiming counts the attempt, so a row whose delivery kills its worker every time still
    reaches its last attempt. Targets are not loaded here: ``load_targets`` does it, row by row
    where it must, so that one row whose target cannot be loaded fails alone.
    """
    now = clock.now()
    token = new_token()
    claim = {
        "status": NotificationStatus.PROCESSING,
        "claimed_by": token,
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
        "attempts": F("attempts") + 1,
    }
    scope = Q()
    if channels is not None:
        scope &= Q(channel__in=list(channels))
    if exclude_channels:
        scope &= ~Q(channel__in=list(exclude_channels))
    # Abandoned rows, then due ones: two statements rather than one with OR, because each is
    # answered by an index in its own order (spire_notify_due_idx for the due rows), while the
    # OR made PostgreSQL read and sort every ready row on every claim of a long backlog.
    claimed = _stamp(abandoned_q(now) & scope, size, using=using, **claim)
    if claimed < size:
        claimed += _stamp(due_q(now) & scope, size - claimed, using=using, **claim)
    if not claimed:
        return []
    return list(
        Notification.objects.using(using)
        .filter(claimed_by=token, status=NotificationStatus.PROCESSING)
        .select_related("user", *detail_relations())
        .order_by("pk")
    )


def detail_relations():
    """The detail rows every configured backend keeps beside a notification."""
    from .handler import notify_backends

    relations = set()
    for alias in notify_backends:
        try:
            relation = notify_backends[alias].detail_relation()
        except ImproperlyConfigured:
            continue  # the worker's validation reports it; rows of that channel fail alone
        if relation:
            relations.add(relation)
    return sorted(relations)


def give_up_abandoned(*, max_attempts, using="default"):
    """Fail the rows whose worker died during their last attempt; returns them.

    Claiming them again would exceed the attempts allowed, and a row that kills every
    worker that touches it must not go round forever.
    """
    now = clock.now()
    token = new_token()
    given_up = _stamp(
        abandoned_q(now) & Q(attempts__gte=max_attempts),
        None,
        using=using,
        status=NotificationStatus.FAILED,
        claimed_by=token,
        lease_expires_at=None,
        last_error=ABANDONED_ON_LAST_ATTEMPT,
    )
    if not given_up:
        return []
    return list(Notification.objects.using(using).filter(claimed_by=token).select_related("user"))


def _stamp(condition, limit, *, using, **changes):
    candidates = Notification.objects.using(using).filter(condition).order_by("next_attempt_at", "pk")
    if connections[using].features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True)
    pks = candidates.values("pk")
    if limit is not None:
        pks = pks[:limit]
    with transaction.atomic(using=using):
        return Notification.objects.using(using).filter(pk__in=pks).update(**changes)


def renew_lease(rows, *, lease_seconds, using="default"):
    """Extend the claim on ``rows`` right before they are handed to a backend.

    Returns the rows this worker still holds: a row whose lease ran out (a slow render, a
    paused process) may already be another worker's, and sending it here would send it twice.
    """
    token = rows[0].claimed_by
    # Rows of any model with the claim's fields: notifications, and the digests that carry them.
    held = (
        type(rows[0])
        ._default_manager.using(using)
        .filter(pk__in=[row.pk for row in rows], claimed_by=token, status=NotificationStatus.PROCESSING)
    )
    renewed = held.update(lease_expires_at=clock.now() + timedelta(seconds=lease_seconds))
    if renewed == len(rows):
        return rows
    still_held = set(held.values_list("pk", flat=True))
    return [row for row in rows if row.pk in still_held]


def release_claim(token, *, reason, pks=None, using="default"):
    """Hand back rows claimed under ``token`` and not delivered, without spending an attempt.

    Used when the worker stops (a configuration error, a stop signal) or withholds a row whose
    claim it could not keep: the rows are not at fault, so they are ready again at once.
    ``pks`` limits it to those rows; by default, every row the claim still holds.
    """
    held = Notification.objects.using(using).filter(claimed_by=token, status=NotificationStatus.PROCESSING)
    if pks is not None:
        held = held.filter(pk__in=list(pks))
    return held.update(
        status=Case(
            When(attempts__lte=1, then=Value(NotificationStatus.PENDING)),
            default=Value(NotificationStatus.ERRORED),
        ),
        attempts=F("attempts") - 1,
        claimed_by="",
        lease_expires_at=None,
        next_attempt_at=clock.now(),
        last_error=reason,
    )
