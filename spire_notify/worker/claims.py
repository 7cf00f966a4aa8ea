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
from django.db.models import BooleanField, Case, F, Q, Value, When
from django.db.models.expressions import RawSQL

from spire_notify import clock
from spire_notify.handler import notify_backends
from spire_notify.models import Notification, NotificationStatus

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


def claim_fields(now, lease_seconds):
    """What a claim stamps on the rows (or digests) it takes: a fresh token, and a lease."""
    return {
        "status": NotificationStatus.PROCESSING,
        "claimed_by": new_token(),
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
    }


def count_ready(*, using="default"):
    return Notification.objects.using(using).filter(ready_q(clock.now())).count()


def claim_batch(size, *, lease_seconds, channels=None, exclude_channels=None, after=None, using="default"):
    """Claim up to ``size`` ready rows; returns them with their users and detail rows loaded.

    ``channels`` limits the claim to those aliases (the worker claims one channel at a time, so
    that a slow channel never holds rows of another), ``exclude_channels`` leaves them out.
    ``after`` (``(next_attempt_at, pk)`` of the last row a previous claim took) resumes the
    due rows from there instead of from the start of the index; a caller that gets less than a
    full batch so must claim once more from the start before it calls the channel drained.
    Claiming counts the attempt, so a row whose delivery kills its worker every time still
    reaches its last attempt. Targets are not loaded here: ``load_targets`` does it, row by row
    where it must, so that one row whose target cannot be loaded fails alone.
    """
    now = clock.now()
    claim = claim_fields(now, lease_seconds)
    scope = Q()
    if channels is not None:
        scope &= Q(channel__in=list(channels))
    if exclude_channels:
        scope &= ~Q(channel__in=list(exclude_channels))
    # Abandoned rows, then due ones: two statements rather than one with OR, because each is
    # answered by an index in its own order (spire_notify_leased_idx, spire_notify_due_idx),
    # while the OR made PostgreSQL read and sort every ready row on every claim of a long backlog.
    abandoned = _in_index(NotificationStatus.PROCESSING) & abandoned_q(now)
    claimed = _stamp(abandoned & scope, size, using=using, count_attempt=True, **claim)
    if len(claimed) < size:
        due = _in_index(*RETRYABLE) & due_q(now) & scope
        if after is not None:
            due &= _after(*after, using=using)
        claimed += _stamp(due, size - len(claimed), using=using, count_attempt=True, **claim)
    if not claimed:
        return []
    return list(
        Notification.objects.using(using)
        .filter(pk__in=claimed)
        .select_related("user", *detail_relations())
        .order_by("pk")
    )


def _in_index(*statuses):
    """The status condition of a partial index, written as the index writes it: SQLite uses a
    partial index only for a query whose WHERE repeats its condition with the same literals,
    and Django passes values as parameters (without it, every claim scanned the table there)."""
    column = Notification._meta.get_field("status").column
    values = ", ".join(f"'{NotificationStatus(status).value}'" for status in statuses)
    return Q(
        RawSQL(f'"{Notification._meta.db_table}"."{column}" IN ({values})', (), output_field=BooleanField())
    )


def resume_point(rows):
    """``after`` for the next ``claim_batch`` of the channel of ``rows``: where this one ended."""
    return max((row.next_attempt_at, row.pk) for row in rows)


def _after(next_attempt_at, pk, *, using):
    # A row comparison, so that the index range starts there: the same condition as an OR of
    # its parts would be a filter over every entry before it, dead ones included.
    connection = connections[using]
    meta = Notification._meta
    due_at = meta.get_field("next_attempt_at")
    columns = ", ".join(
        f"{connection.ops.quote_name(meta.db_table)}.{connection.ops.quote_name(column)}"
        for column in (due_at.column, meta.pk.column)
    )
    return Q(
        RawSQL(
            f"({columns}) > (%s, %s)",
            (due_at.get_db_prep_value(next_attempt_at, connection), pk),
            output_field=BooleanField(),
        )
    )


def detail_relations():
    """The detail rows every configured backend keeps beside a notification."""
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
    given_up = _stamp(
        _in_index(NotificationStatus.PROCESSING) & abandoned_q(now) & Q(attempts__gte=max_attempts),
        None,
        using=using,
        status=NotificationStatus.FAILED,
        claimed_by=new_token(),
        lease_expires_at=None,
        last_error=ABANDONED_ON_LAST_ATTEMPT,
    )
    if not given_up:
        return []
    return list(Notification.objects.using(using).filter(pk__in=given_up).select_related("user"))


def _stamp(condition, limit, *, using, count_attempt=False, **changes):
    """Set ``changes`` on up to ``limit`` rows of ``condition``, oldest due first; returns their pks.

    One statement, ``UPDATE … WHERE pk IN (SELECT … LIMIT n [FOR UPDATE SKIP LOCKED]) RETURNING
    pk``: in autocommit it is its own transaction (no BEGIN and COMMIT round trips), and the
    pks it returns load the rows by primary key, not by a scan for the claim's token.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    meta = Notification._meta
    candidates = Notification.objects.using(using).filter(condition).order_by("next_attempt_at", "pk")
    candidates = candidates.values("pk")
    if limit is not None:
        candidates = candidates[:limit]
    select, params = candidates.query.get_compiler(using).as_sql()
    if connection.features.has_select_for_update_skip_locked:
        select += " FOR UPDATE SKIP LOCKED"
    assignments, values = [], []
    for name, value in changes.items():
        field = meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")
        values.append(field.get_db_prep_save(value, connection))
    if count_attempt:
        attempts = quote(meta.get_field("attempts").column)
        assignments.append(f"{attempts} = {attempts} + 1")
    pk = quote(meta.pk.column)
    sql = f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} WHERE {pk} IN ({select})"
    with connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            cursor.execute(f"{sql} RETURNING {pk}", [*values, *params])
            return [pk for (pk,) in cursor.fetchall()]
    # A database without UPDATE … RETURNING (SQLite before 3.35): the token marks the claim.
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(sql, [*values, *params])
        return list(
            Notification.objects.using(using)
            .filter(claimed_by=changes["claimed_by"])
            .values_list("pk", flat=True)
        )


def renew_lease(rows, *, lease_seconds, model=Notification, using="default"):
    """Extend the claim on ``rows`` (of ``model``: notifications, or the digests that carry
    them) right before they are handed to a backend.

    Returns the rows this worker still holds: a row whose lease ran out (a slow render, a
    paused process) may already be another worker's, and sending it here would send it twice.
    """
    token = rows[0].claimed_by
    held = model._default_manager.using(using).filter(
        pk__in=[row.pk for row in rows], claimed_by=token, status=NotificationStatus.PROCESSING
    )
    renewed = held.update(lease_expires_at=clock.now() + timedelta(seconds=lease_seconds))
    if renewed == len(rows):
        return rows
    still_held = set(held.values_list("pk", flat=True))
    return [row for row in rows if row.pk in still_held]


def release_claim(token, *, reason, pks=None, model=Notification, using="default"):
    """Hand back rows (of ``model``: notifications, or digests) claimed under ``token`` and not
    delivered, without spending an attempt.

    Used when the worker stops (a configuration error, a stop signal) or withholds a row whose
    claim it could not keep: the rows are not at fault, so they are ready again at once —
    ``pending`` if this was their first attempt, else ``errored`` as their last one left them.
    ``pks`` limits it to those rows; by default, every row the claim still holds.
    """
    held = model._default_manager.using(using).filter(claimed_by=token, status=NotificationStatus.PROCESSING)
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
