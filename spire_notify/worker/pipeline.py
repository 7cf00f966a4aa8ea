"""The one pipeline the worker drives everything it sends through: claimed rows, and claimed
digests with the rows they carry.

    claim → load → skip → render → hand over → record

The callers claim (``process_notifications`` its rows channel by channel, ``deliver_digests``
its digests) and hand the claimed batch to ``deliver()``, which takes it through the other
steps, channel by channel. Each step hands the next an explicit value — a ``Parcel`` per thing
to send, the ``Targets`` of its rows, an ``Ended`` per parcel whose outcome is known — and asks
the batch's ``Kind`` for what differs between rows and digests: how a claimed batch becomes
parcels, whether a backend can send it, how it renders, and how its outcome is written.

What every kind gets from the pipeline alike: one failure never stops the others; a row that
no longer applies is left out before it is rendered; a parcel is handed over only under a kept
claim, and one withheld is handed back without spending an attempt; what was handed over is
recorded as it settles, at least once a second (``SettledRecorder``), not only at the end of the
batch; a configuration error or a stop that cannot wait hands back what was not yet recorded
and ends the batch.
"""

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from spire_notify import conf
from spire_notify.backends.base import Delivery, Outcome, Rendered, describe_error
from spire_notify.exceptions import WorkerStopped
from spire_notify.handler import notify_backends
from spire_notify.store.models import NotificationStatus
from spire_notify.worker.claims import release_claim
from spire_notify.worker.handover import hand_over
from spire_notify.worker.retry import retry_delay, status_after_failure
from spire_notify.worker.routes import record_routes
from spire_notify.worker.skips import skip_what_no_longer_applies
from spire_notify.worker.targets import Targets, load_targets
from spire_notify.worker.throttled import throttled_ending

logger = logging.getLogger("spire_notify")

# How long the outcomes of a channel's hand-overs may wait to be written. A worker killed
# mid-batch leaves what it had handed over and not recorded to be sent again once its lease
# runs out: recording as they settle bounds those duplicates by a second of sending, not by a
# batch. One write a second costs nothing next to a second of sending; a batch that ends
# sooner is written once, at its end, as before.
RECORD_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class Parcel:
    """One thing to send: a claimed row, or a claimed digest and the held rows it carries.

    ``claimed`` holds the claim (token, lease, attempts) and is what a backend reads as
    ``Delivery.notification``. ``items`` are the rows whose recipient and type decide whether
    it still applies: the row itself, or the digest's items, newest first. ``left_out`` are
    the items the skip step took out, each with the outcome it ends with.
    """

    claimed: Any
    items: tuple = ()
    left_out: tuple = ()

    @property
    def pk(self):
        return self.claimed.pk

    @property
    def channel(self):
        return self.claimed.channel


@dataclass(frozen=True)
class Ended:
    """A parcel and the outcome the record step writes for it; ``rendered`` once rendered."""

    parcel: Parcel
    outcome: Outcome
    rendered: Rendered | None = None


class Kind(Protocol):
    """What differs between the rows the worker sends and its digests."""

    #: What a backend is told it is handed (``Delivery.kind``).
    name: str
    #: The model a claim of this kind is on (it has ``claimed_by``, ``lease_expires_at``, …).
    model: type
    #: Why an item tied (``unless_read``) to a row read in the app is left out.
    read_reason: str
    #: Whether rendering needs the items' targets, so that an item whose target cannot be
    #: loaded fails rather than being sent without it.
    renders_targets: bool

    def parcels(self, claimed, *, using) -> list[Parcel]:
        """The parcels of a claimed batch, in the order claimed."""

    def no_backend(self, alias, backend) -> str:
        """Why ``backend`` (``None`` if ``alias`` is not configured) cannot send this kind, or ``""``."""

    def emptied(self, left_out) -> Outcome:
        """The outcome of a parcel whose every item was left out."""

    def render(self, backend, parcels, targets) -> list[tuple[Parcel, Rendered | Outcome]]:
        """Each parcel with what it renders to, or the outcome of one that cannot be rendered;
        in the order they are to be handed over."""

    def record(self, ended, *, using) -> Counter:
        """Write each parcel's outcome, if this worker still holds it, and signal it; returns
        the counts of the rows that ended."""


def deliver(kind, claimed, *, should_stop=None, using="default"):
    """Take a claimed batch of ``kind`` through load, skip, render, hand over and record,
    channel by channel; returns the counts of the rows that ended.

    A configuration error, or a stop that cannot wait, ends the batch: what was not yet
    recorded is handed back untouched, for a worker that is configured correctly.
    """
    counts = Counter()
    if not claimed:
        return counts
    by_channel = defaultdict(list)
    for parcel in kind.parcels(claimed, using=using):
        by_channel[parcel.channel].append(parcel)
    try:
        for alias, parcels in by_channel.items():
            counts.update(_deliver_channel(kind, alias, parcels, should_stop=should_stop, using=using))
    except (ImproperlyConfigured, WorkerStopped) as error:
        release_claim(
            claimed[0].claimed_by,
            reason=describe_error(error),
            pks=[each.pk for each in claimed],
            model=kind.model,
            using=using,
        )
        raise
    return counts


def _deliver_channel(kind, alias, parcels, *, should_stop, using):
    backend = notify_backends[alias] if alias in notify_backends else None
    if error := kind.no_backend(alias, backend):
        return kind.record(
            [Ended(parcel, Outcome.permanent_failure(error)) for parcel in parcels], using=using
        )
    ended = {}
    kept, emptied = _leave_out(kind, backend, parcels, using=using)
    ended.update({each.parcel.pk: each for each in emptied})
    deliveries = {}
    for parcel, rendered in kind.render(backend, kept.parcels, kept.targets):
        if isinstance(rendered, Outcome):
            ended[parcel.pk] = Ended(parcel, rendered)
        else:
            deliveries[parcel.pk] = (parcel, rendered)
    recorder = SettledRecorder(kind, backend, deliveries, using=using)
    if deliveries:
        outcomes = hand_over(
            backend,
            [
                Delivery(notification=parcel.claimed, rendered=rendered, kind=kind.name)
                for parcel, rendered in deliveries.values()
            ],
            model=kind.model,
            should_stop=should_stop,
            using=using,
            recorder=recorder,
        )
        ended.update(
            {
                pk: Ended(parcel, outcomes[pk], rendered)
                for pk, (parcel, rendered) in deliveries.items()
                if pk not in recorder.recorded
            }
        )
    # In the order claimed, so that signals and records follow the batch, whatever step ended each.
    in_order = [ended[parcel.pk] for parcel in parcels if parcel.pk not in recorder.recorded]
    withheld = [each for each in in_order if each.outcome.withheld]
    if withheld:
        release_claim(
            parcels[0].claimed.claimed_by,
            reason=withheld[0].outcome.error,
            pks=[each.parcel.pk for each in withheld],
            model=kind.model,
            using=using,
        )
    recorded = [each for each in in_order if not each.outcome.withheld]
    counts = kind.record(recorded, using=using)
    record_routes(backend, recorded, using=using)
    return recorder.counts + counts


class SettledRecorder:
    """Writes the outcomes of a channel's hand-overs while the batch is still being sent.

    The hand-over's guard tells it each outcome as the send loop settles it, in the worker's
    thread; once ``RECORD_EVERY_SECONDS`` have passed since the last write, it writes what
    settled since, in one transaction, as the end of the batch would have. A write that fails
    is logged and left to the end of the batch, which writes whatever is not in ``recorded``.
    """

    def __init__(self, kind, backend, deliveries, *, using):
        self.kind = kind
        self.backend = backend
        self.deliveries = deliveries  # {pk: (parcel, rendered)}
        self.using = using
        self.settled_since = []
        self.recorded = set()
        self.counts = Counter()
        self.due = time.monotonic() + RECORD_EVERY_SECONDS

    def settled(self, pk, outcome):
        """``pk`` was handed over and ended in ``outcome``; returns the pks written by this call
        (none until the next write is due)."""
        parcel, rendered = self.deliveries[pk]
        self.settled_since.append(Ended(parcel, outcome, rendered))
        if time.monotonic() < self.due:
            return set()
        return self.write()

    def write(self):
        ended, self.settled_since = self.settled_since, []
        self.due = time.monotonic() + RECORD_EVERY_SECONDS
        try:
            with transaction.atomic(using=self.using):
                counts = self.kind.record(ended, using=self.using)
                record_routes(self.backend, ended, using=self.using)
        except Exception:
            logger.exception(
                "Could not record %d outcome(s) mid-batch; they are recorded at its end.", len(ended)
            )
            return set()
        written = {each.parcel.pk for each in ended}
        self.recorded |= written
        self.counts += counts
        return written


@dataclass(frozen=True)
class Kept:
    """What the skip step hands the render step: the parcels still to send, with only the
    items that still apply, and the targets those items are about."""

    parcels: list
    targets: Targets


def _leave_out(kind, backend, parcels, *, using):
    """``(Kept, [Ended])``: the items that no longer apply are left out of their parcel (one
    whose target cannot be loaded too, if the kind renders targets); a parcel left with no
    item ends as its kind says."""
    items = [item for parcel in parcels for item in parcel.items]
    targets = load_targets(items)
    left_out = dict(targets.failures) if kind.renders_targets else {}
    left_out.update(
        skip_what_no_longer_applies(
            [item for item in items if item.pk not in left_out],
            backend,
            targets=targets,
            read_reason=kind.read_reason,
            using=using,
        )
    )
    kept, emptied = [], []
    for parcel in parcels:
        dropped = tuple((item, left_out[item.pk]) for item in parcel.items if item.pk in left_out)
        parcel = replace(
            parcel, items=tuple(item for item in parcel.items if item.pk not in left_out), left_out=dropped
        )
        if parcel.items:
            kept.append(parcel)
        else:
            emptied.append(Ended(parcel, kind.emptied(dropped)))
    return Kept(parcels=kept, targets=targets), emptied


def ending(outcome, *, attempts, throttles, now):
    """The fields ``outcome`` sets on what was claimed (a row or a digest) after ``attempts``
    and ``throttles``: its status, its error, when it was sent or is tried again; and the lease
    is over."""
    values = {"lease_expires_at": None}
    if outcome.sent:
        return values | {"status": NotificationStatus.SENT, "sent_at": now, "last_error": ""}
    if outcome.skip:
        return values | {"status": NotificationStatus.SKIPPED, "last_error": outcome.error}
    if outcome.throttle:
        return values | throttled_ending(outcome, attempts=attempts, throttles=throttles, now=now)
    return values | {
        "status": status_after_failure(
            attempts=attempts, max_attempts=conf.get("NOTIFY_MAX_ATTEMPTS"), permanent=outcome.permanent
        ),
        "last_error": outcome.error,
        "next_attempt_at": now
        + retry_delay(
            attempts, base=conf.get("NOTIFY_RETRY_BASE_DELAY"), cap=conf.get("NOTIFY_RETRY_MAX_DELAY")
        ),
    }
