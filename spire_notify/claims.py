"""Claiming ready notifications so that concurrent workers never deliver the same row twice.

A claim is one ``UPDATE … WHERE pk IN (SELECT … LIMIT n)`` that stamps the rows with a
fresh token and a lease. On PostgreSQL the inner select takes ``FOR UPDATE SKIP LOCKED``, so
workers pass each other's rows by instead of waiting; on SQLite the single statement is atomic
under its one writer. A worker that dies leaves rows "processing"; once their lease expires
they are ready again.
"""

import uuid
from datetime import timedelta

from django.db import connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import Notification, NotificationStatus

RETRYABLE = [NotificationStatus.PENDING, NotificationStatus.ERRORED]


def ready_q(now):
    due = Q(status__in=RETRYABLE, next_attempt_at__lte=now, send_after__lte=now)
    abandoned = Q(status=NotificationStatus.PROCESSING, lease_expires_at__lte=now)
    return due | abandoned


def claim_batch(size, *, lease_seconds, using="default"):
    """Claim up to ``size`` ready rows; returns them with what delivery needs loaded."""
    now = timezone.now()
    token = uuid.uuid4().hex
    candidates = Notification.objects.using(using).filter(ready_q(now)).order_by(
        "next_attempt_at", "pk"
    )
    if connections[using].features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True)
    with transaction.atomic(using=using):
        claimed = (
            Notification.objects.using(using)
            .filter(pk__in=candidates.values("pk")[:size])
            .update(
                status=NotificationStatus.PROCESSING,
                claimed_by=token,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=F("attempts") + 1,
            )
        )
    if not claimed:
        return []
    return list(
        Notification.objects.using(using)
        .filter(claimed_by=token, status=NotificationStatus.PROCESSING)
        .select_related("user", "email", "app")
        .prefetch_related("content_object")
        .order_by("pk")
    )
