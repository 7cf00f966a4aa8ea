"""Delivery: claim ready notifications channel by channel, and due digests after them, and take
each claimed batch through the pipeline (``spire_notify.worker.pipeline``): load, skip, render,
send, record the outcome.

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

from collections import Counter

from spire_notify import conf
from spire_notify.handler import notify_backends
from spire_notify.store.signals import send_signals
from spire_notify.worker.claims import claim_batch, give_up_abandoned, resume_point
from spire_notify.worker.digests import deliver_digests
from spire_notify.worker.pipeline import deliver
from spire_notify.worker.rows import ROWS

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
    """Deliver claimed rows through the pipeline (``spire_notify.worker.pipeline``), channel
    by channel; one failure never stops the others.

    A configuration error, or a stop that cannot wait, ends the batch: the rows not yet
    recorded are handed back untouched, for a worker that is configured correctly.
    """
    return deliver(ROWS, notifications, should_stop=should_stop, using=using)
