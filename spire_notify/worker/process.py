"""Delivery: claim ready notifications, render them per channel, send, record the outcome.

``process_notifications()`` is the one delivery function; the ``django.tasks`` task, the
``process_notifications`` command (once or ``--loop``) and the Celery task all call it.

What delivery promises (docs/automations.md says it for users):

- A row is handed to a backend only while this worker's claim on it holds: the claim is
  renewed as sending goes on, and a row whose claim could not be kept is withheld and handed
  back, never sent. The one duplicate window left is a crash between a hand-off and its record.
- Channels are claimed one at a time, so a slow channel holds only its own rows.
- A row that cannot be loaded, rendered or sent fails alone, with its reason in ``last_error``.
- A row that no longer applies is skipped, with its reason, before it is rendered: its user was
  deactivated or lost access to its target, its in-app copy was read (``Deferred``), or its
  recipient switched its type off on its channel since it was written.
"""

import json
import logging
from collections import Counter, defaultdict
from itertools import groupby

from django.core.exceptions import ImproperlyConfigured

from spire_notify import clock, conf
from spire_notify.backends.base import Delivery, Outcome, describe_error
from spire_notify.exceptions import Undeliverable, WorkerStopped
from spire_notify.handler import notify_backends
from spire_notify.message import Message
from spire_notify.store.models import Notification, NotificationStatus
from spire_notify.store.signals import send_signals
from spire_notify.worker.claims import claim_batch, give_up_abandoned, release_claim, resume_point
from spire_notify.worker.digests import deliver_digests
from spire_notify.worker.handover import hand_over
from spire_notify.worker.retry import retry_delay, status_after_failure
from spire_notify.worker.skips import skip_what_no_longer_applies
from spire_notify.worker.targets import load_targets, recipient_of

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
COUNTED = ("sent", "errored", "failed", "skipped")


def validate_backends():
    """Raise ``ImproperlyConfigured`` if any configured backend cannot deliver at all."""
    for backend in notify_backends.all():
        backend.validate()


def process_notifications(*, batch_size=None, max_batches=None, should_stop=None, using="default"):
    """Deliver every ready notification, round after round, until none is ready.

    A round claims one batch of each channel not yet drained, one channel at a time, so that a
    slow channel holds only its own rows. ``max_batches`` caps the rounds; ``should_stop()`` is
    asked before every batch and every hand-off. Returns the counts of this run:
    ``{"sent": …, "errored": …, "failed": …, "skipped": …}``. Raises ``ImproperlyConfigured``
    before claiming anything if a backend cannot deliver at all.
    """
    validate_backends()
    should_stop = should_stop or (lambda: False)
    batch_size = batch_size or conf.get("NOTIFY_BATCH_SIZE")
    lease_seconds = conf.get("NOTIFY_LEASE_SECONDS")
    aliases = list(notify_backends)
    counts = Counter(dict.fromkeys(COUNTED, 0))

    def claim(**scope):
        return claim_batch(batch_size, lease_seconds=lease_seconds, using=using, **scope)

    # Rows of channels since removed from NOTIFY_BACKENDS: no worker can ever deliver them.
    if orphans := claim(exclude_channels=aliases):
        counts.update(deliver_batch(orphans, using=using))
    # A channel leaves the run once a claim from the start finds less than a full batch: it is
    # drained. Between them, each claim resumes where the channel's last one ended, so that it
    # does not read again the index entries of every row claimed before (P5, docs/performance.md).
    undrained = aliases
    resume = {}
    rounds = 0
    while undrained and (max_batches is None or rounds < max_batches) and not should_stop():
        given_up = give_up_abandoned(max_attempts=conf.get("NOTIFY_MAX_ATTEMPTS"), using=using)
        counts["failed"] += len(given_up)
        send_signals(given_up)
        for alias in list(undrained):
            if should_stop():
                break
            resumed_after = resume.pop(alias, None)
            batch = claim(channels=[alias], after=resumed_after)
            if len(batch) == batch_size:
                resume[alias] = resume_point(batch)
            elif resumed_after is None:
                undrained = [other for other in undrained if other != alias]
            if batch:
                counts.update(deliver_batch(batch, should_stop=should_stop, using=using))
        rounds += 1
    if not should_stop():
        counts.update(deliver_digests(batch_size=batch_size, should_stop=should_stop, using=using))
    return dict(counts)


def deliver_batch(notifications, *, should_stop=None, using="default"):
    """Deliver claimed rows channel by channel; one failure never stops the others.

    A configuration error, or a stop that cannot wait, ends the batch: the rows not yet
    recorded are handed back untouched, for a worker that is configured correctly.
    """
    counts = Counter()
    by_channel = defaultdict(list)
    for notification in notifications:
        by_channel[notification.channel].append(notification)
    try:
        for alias, rows in by_channel.items():
            counts.update(_deliver_channel(alias, rows, should_stop=should_stop, using=using))
    except (ImproperlyConfigured, WorkerStopped) as error:
        release_claim(notifications[0].claimed_by, reason=describe_error(error), using=using)
        raise
    return counts


def _deliver_channel(alias, rows, *, should_stop, using):
    if alias not in notify_backends:
        error = f"NOTIFY_BACKENDS has no backend {alias!r}."
        return _record(rows, [Outcome.permanent_failure(error)] * len(rows), using=using)
    backend = notify_backends[alias]
    outcomes = load_targets(rows)
    outcomes.update(
        skip_what_no_longer_applies([row for row in rows if row.pk not in outcomes], backend, using=using)
    )
    deliveries = []
    for rows_of_message in _group_by_message([row for row in rows if row.pk not in outcomes]):
        for row, rendered in zip(rows_of_message, _render(backend, rows_of_message), strict=True):
            if isinstance(rendered, Outcome):
                outcomes[row.pk] = rendered
            else:
                row.body, row.url = rendered.body, rendered.url
                deliveries.append(Delivery(notification=row, rendered=rendered))
    if deliveries:
        outcomes.update(hand_over(backend, deliveries, should_stop=should_stop, using=using))
    withheld = [row for row in rows if row.pk in outcomes and outcomes[row.pk].withheld]
    if withheld:
        release_claim(
            rows[0].claimed_by, reason=outcomes[withheld[0].pk].error, pks=[row.pk for row in withheld]
        )
    recorded = [row for row in rows if row.pk in outcomes and not outcomes[row.pk].withheld]
    return _record(recorded, [outcomes[row.pk] for row in recorded], using=using)


def _render(backend, rows):
    """One ``Rendered`` per row, or the ``Outcome`` of a row that could not be rendered."""
    first = rows[0]
    try:
        message = Message.from_payload(first.payload, title=first.title, target=first.target)
    except TypeError as error:
        # Written by a version whose Message had other fields: no retry can read it.
        outcome = Outcome.permanent_failure(f"the stored message no longer fits Message: {error}")
        return [outcome] * len(rows)
    try:
        return backend.render_many(message, [recipient_of(backend, row) for row in rows])
    except ImproperlyConfigured:
        raise
    except Exception as error:
        if len(rows) > 1:
            # Render one by one, so that only the rows that cannot be rendered fail.
            return [item for row in rows for item in _render(backend, [row])]
        if isinstance(error, Undeliverable):
            return [Outcome.permanent_failure(f"Undeliverable: {error}")]
        logger.exception("%s could not render notification %s", backend, first.pk)
        return [Outcome.temporary(describe_error(error))]


def _group_by_message(rows):
    """Rows of the same message, so that a backend renders each message once."""

    def key(row):
        return (row.title, row.content_type_id or 0, row.object_id, json.dumps(row.payload, sort_keys=True))

    return [list(group) for _, group in groupby(sorted(rows, key=key), key=key)]


def _record(rows, outcomes, *, using):
    """Write each row's outcome, if this worker still holds the row, and signal it."""
    if not rows:
        return Counter()
    now = clock.now()
    max_attempts = conf.get("NOTIFY_MAX_ATTEMPTS")
    for row, outcome in zip(rows, outcomes, strict=True):
        row.lease_expires_at = None
        if outcome.sent:
            row.status, row.sent_at, row.last_error = NotificationStatus.SENT, now, ""
        elif outcome.skip:
            row.status, row.last_error = NotificationStatus.SKIPPED, outcome.error
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
    send_signals(rows)
    return Counter(row.status for row in rows)


def _group_by_values(rows):
    """``{recorded values: pks}``: the rows of one message share their rendering and, mostly,
    their outcome, so one UPDATE records each group; ``bulk_update``'s CASE per field per row
    was a quarter of the time of delivering a batch of email."""
    groups = defaultdict(list)
    for row in rows:
        groups[tuple(getattr(row, field) for field in RECORDED_FIELDS)].append(row.pk)
    return groups
