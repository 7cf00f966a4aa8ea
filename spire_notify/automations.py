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
import time
from collections import Counter, defaultdict
from datetime import timedelta
from itertools import groupby

from django.core.exceptions import ImproperlyConfigured

from spire_notify import clock, conf
from spire_notify.backends.base import Delivery, Outcome, SendGuard, describe_error
from spire_notify.claims import claim_batch, give_up_abandoned, release_claim, renew_lease, resume_point
from spire_notify.digests import deliver_digests
from spire_notify.escalation import READ_IN_APP, skip_read_in_app
from spire_notify.exceptions import Undeliverable
from spire_notify.handler import notify_backends
from spire_notify.message import Message, Recipient
from spire_notify.models import DestinationReceipt, Notification, NotificationStatus
from spire_notify.preferences import skip_switched_off
from spire_notify.retry import retry_delay, status_after_failure
from spire_notify.signals import (
    notification_failed,
    notification_sent,
    notification_skipped,
    notifications_sent,
)
from spire_notify.targets import load_targets

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

DEACTIVATED = "Skipped: the user was deactivated after the notification was written."
ACCESS_LOST = "Skipped: the user may no longer see what the notification is about."
CLAIM_LAPSED = "Withheld: this worker's claim on the row lapsed before it could be sent."
STOPPING = "Withheld: the worker was stopping."


class WorkerStopped(BaseException):
    """Raised (from a signal handler) to abandon a send that outlives a stop's grace period.

    A ``BaseException`` so that no ``except Exception`` on the way, a backend's included, can
    swallow it; the rows of the interrupted batch are handed back as it passes.
    """


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


def hand_over(backend, deliveries, *, should_stop, using):
    """``{pk: Outcome}`` of sending ``deliveries`` under a kept claim."""
    claim = ClaimKeeper(deliveries, should_stop=should_stop, using=using)
    # Rows another worker took while these were rendered are not ours to send. Until half the
    # lease has gone no worker can have taken them: renewing a fresh claim before sending was a
    # round trip and a commit per batch for nothing (P3, docs/performance.md).
    lapsed = claim.renew() if time.monotonic() >= claim.renew_at else set()
    outcomes = {pk: Outcome.not_sent(CLAIM_LAPSED) for pk in lapsed}
    held = [delivery for delivery in deliveries if delivery.notification.pk not in lapsed]
    if held:
        outcomes.update(_send(backend, held, claim))
    return outcomes


def skip_what_no_longer_applies(rows, backend, *, read_reason=READ_IN_APP, using):
    """``{pk: Outcome}`` of the rows not to send after all: their recipient may no longer be
    reached, read the in-app copy (``read_reason`` says before what), or switched their type off
    on ``backend``'s channel since. Each step sees only the rows the steps before it kept; the
    worker's rows and a digest's items go through the same steps."""
    steps = (
        skip_unreachable,
        lambda kept: skip_read_in_app(kept, reason=read_reason, using=using),
        lambda kept: skip_switched_off(kept, kept_address=backend.kept_address, using=using),
    )
    outcomes = {}
    for step in steps:
        outcomes.update(step([row for row in rows if row.pk not in outcomes]))
    return outcomes


def skip_unreachable(rows):
    """``{pk: Outcome}`` of rows whose recipient may no longer be reached: a user deactivated
    since, or one the target no longer lets see it.

    A target says so with ``allowed_notification_recipients(users) -> pks`` (asked once per
    target and batch) or ``allows_notification_to(user) -> bool`` (asked per row).
    """
    outcomes = {}
    by_target = defaultdict(list)
    for row in rows:
        if row.user is None:
            continue
        if not row.user.is_active:
            outcomes[row.pk] = Outcome.skipped(DEACTIVATED)
        elif row.target is not None:
            by_target[row.target].append(row)
    for target, target_rows in by_target.items():
        if hasattr(target, "allowed_notification_recipients"):
            allowed = target.allowed_notification_recipients([row.user for row in target_rows])
            lost = [row for row in target_rows if row.user.pk not in allowed]
        elif hasattr(target, "allows_notification_to"):
            lost = [row for row in target_rows if not target.allows_notification_to(row.user)]
        else:
            continue
        outcomes.update({row.pk: Outcome.skipped(ACCESS_LOST) for row in lost})
    return outcomes


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


def _send(backend, deliveries, claim):
    """``{notification pk: Outcome}`` for ``deliveries``."""
    try:
        results = backend.send(deliveries, guard=claim)
    except (ImproperlyConfigured, WorkerStopped):
        raise
    except Exception as error:
        # The contract says send() reports failures per item. A backend that raises anyway
        # is tried again one delivery at a time, so that only the row that breaks it fails
        # and a single bad row cannot fail its whole batch on every attempt.
        if len(deliveries) > 1:
            return {
                pk: outcome
                for delivery in deliveries
                for pk, outcome in _send(backend, [delivery], claim).items()
            }
        logger.exception("%s.send() raised for notification %s", backend, deliveries[0].notification.pk)
        results = [Outcome.temporary(describe_error(error))]
    return {delivery.notification.pk: result for delivery, result in zip(deliveries, results, strict=True)}


class ClaimKeeper(SendGuard):
    """The guard a backend asks before each hand-off: may this row still be sent?

    It renews the claim on the batch once half the lease has gone (one UPDATE per half lease,
    not one per row), and withholds a row this worker no longer holds, or every row once the
    worker is asked to stop. A backend that sends a row to several destinations asks it before
    each, reads which destinations took the rows before, and tells it each that takes one now.
    """

    def __init__(self, deliveries, *, should_stop=None, using="default"):
        super().__init__()
        self.rows = [delivery.notification for delivery in deliveries]
        self.should_stop = should_stop or (lambda: False)
        self.using = using
        self.lease_seconds = conf.get("NOTIFY_LEASE_SECONDS")
        self.held = {row.pk for row in self.rows}
        self._set_expiry(self.rows[0].lease_expires_at)

    def __call__(self, delivery):
        if self.should_stop():
            return STOPPING
        if time.monotonic() >= self.renew_at:
            self.renew()
        # Whatever renewing found, a row past its expiry may be another worker's by now.
        if delivery.notification.pk not in self.held or time.monotonic() >= self.expires_at:
            return CLAIM_LAPSED
        return None

    def renew(self):
        """Extend the claim on the batch; returns the pks this worker no longer holds.

        Every row of the batch, the ones already sent included: they stay this worker's until
        their outcome is recorded, or another worker would take them and send them again.
        """
        try:
            held = renew_lease(self.rows, lease_seconds=self.lease_seconds, using=self.using)
        except Exception:
            # The database is out of reach: the claim runs out on its own, and the guard
            # withholds what it can no longer vouch for.
            logger.exception("Could not renew the claim on %d notification(s).", len(self.rows))
            return set()
        self.held = {row.pk for row in held}
        self._set_expiry(clock.now() + timedelta(seconds=self.lease_seconds))
        return {row.pk for row in self.rows} - self.held

    def receipts(self, deliveries):
        pks = [delivery.notification.pk for delivery in deliveries]
        return DestinationReceipt.objects.using(self.using).by_notification(pks)

    def took(self, delivery, receipt_key):
        try:
            DestinationReceipt.objects.using(self.using).record(delivery.notification.pk, receipt_key)
        except Exception:
            # The destination has it; what is lost is the memory of it, so a retry may send
            # it there again: the one duplicate a database out of reach can cause.
            logger.exception(
                "Could not keep that notification %s reached a destination.", delivery.notification.pk
            )

    def _set_expiry(self, expires):
        remaining = (expires - clock.now()).total_seconds() if expires else self.lease_seconds
        now = time.monotonic()
        self.expires_at = now + remaining
        self.renew_at = now + remaining - self.lease_seconds / 2


def _group_by_message(rows):
    """Rows of the same message, so that a backend renders each message once."""

    def key(row):
        return (row.title, row.content_type_id or 0, row.object_id, json.dumps(row.payload, sort_keys=True))

    return [list(group) for _, group in groupby(sorted(rows, key=key), key=key)]


def recipient_of(backend, row):
    """Who ``row`` is for; a channel that keeps an address (email) sends where the row was
    written for, even if the user's address has changed since."""
    address = backend.kept_address(row)
    if row.user is None:
        return Recipient.for_address(address)
    return Recipient.for_user(row.user, **({"email": address} if address else {}))


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
