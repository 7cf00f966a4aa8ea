"""Handing a claimed batch to its backend under a kept claim: ``hand_over()`` and the guard
(``ClaimKeeper``) the backend's send loop asks before each hand-off.

The rows of the worker and the digests it sends are handed over the same way; ``model`` says
which of the two a claim is on.
"""

import logging
import time
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from spire_notify import clock, conf
from spire_notify.backends.base import Outcome, SendGuard, describe_error
from spire_notify.exceptions import WorkerStopped
from spire_notify.store.models import DestinationReceipt, Notification
from spire_notify.worker.claims import renew_lease
from spire_notify.worker.pacing import pacer_for

logger = logging.getLogger("spire_notify")

CLAIM_LAPSED = "Withheld: this worker's claim on the row lapsed before it could be sent."
STOPPING = "Withheld: the worker was stopping."
# How long a guard waiting for its channel's pace sleeps before it looks whether to stop.
WAIT_SLICE_SECONDS = 0.1


def hand_over(backend, deliveries, *, model, should_stop, using, recorder=None):
    """``{pk: Outcome}`` of sending ``deliveries`` (claimed rows of ``model``) under a kept claim.

    ``recorder`` (the pipeline's ``SettledRecorder``) hears each outcome as it settles and may
    write it at once; the rows it wrote are no longer this claim's to renew or to send again.
    """
    claim = ClaimKeeper(
        deliveries,
        model=model,
        should_stop=should_stop,
        using=using,
        pacer=pacer_for(backend, using=using),
        recorder=recorder,
    )
    # Rows another worker took while these were rendered are not ours to send. Until half the
    # lease has gone no worker can have taken them: renewing a fresh claim before sending was a
    # round trip and a commit per batch for nothing (P3, docs/performance.md).
    lapsed = claim.renew() if time.monotonic() >= claim.renew_at else set()
    outcomes = {pk: Outcome.not_sent(CLAIM_LAPSED) for pk in lapsed}
    held = [delivery for delivery in deliveries if delivery.notification.pk not in lapsed]
    if held:
        outcomes.update(_send(backend, held, claim))
    return outcomes


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
        # What was already recorded was sent: it is not tried again.
        if len(deliveries) > 1:
            return {
                pk: outcome
                for delivery in deliveries
                if delivery.notification.pk not in claim.recorded
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

    def __init__(
        self, deliveries, *, model=Notification, should_stop=None, using="default", pacer=None, recorder=None
    ):
        super().__init__()
        self.rows = [delivery.notification for delivery in deliveries]
        self.batch_size = len(self.rows)
        self.recorder = recorder
        self.pacer = pacer
        self.paces = pacer is not None and pacer.rate is not None
        self.asked = 0
        self.model = model
        self.should_stop = should_stop or (lambda: False)
        self.using = using
        self.lease_seconds = conf.get("NOTIFY_LEASE_SECONDS")
        self.held = {row.pk for row in self.rows}
        self._set_expiry(self.rows[0].lease_expires_at)

    def __call__(self, delivery):
        if self.should_stop():
            return STOPPING
        if self.pacer is not None and not self._await_turn():
            return STOPPING
        if time.monotonic() >= self.renew_at:
            self.renew()
        # Whatever renewing found, a row past its expiry may be another worker's by now.
        if delivery.notification.pk not in self.held or time.monotonic() >= self.expires_at:
            return CLAIM_LAPSED
        return None

    def renew(self):
        """Extend the claim on the batch; returns the pks this worker no longer holds.

        Every row of the batch not yet recorded, the ones already sent included: they stay this
        worker's until their outcome is recorded, or another worker would take them and send
        them again.
        """
        if not self.rows:
            return set()
        try:
            held = renew_lease(
                self.rows, lease_seconds=self.lease_seconds, model=self.model, using=self.using
            )
        except Exception:
            # The database is out of reach: the claim runs out on its own, and the guard
            # withholds what it can no longer vouch for.
            logger.exception("Could not renew the claim on %d notification(s).", len(self.rows))
            return set()
        self.held = {row.pk for row in held}
        self._set_expiry(clock.now() + timedelta(seconds=self.lease_seconds))
        return {row.pk for row in self.rows} - self.held

    def _await_turn(self):
        """Wait for the pacer's next hand-off; ``False`` once the worker is asked to stop (a
        stop wins over a turn). The claim is renewed while it waits, as while it sends."""
        wanted = max(1, self.batch_size - self.asked)
        self.asked += 1
        while True:
            turn, granted = self.pacer.next_turn(wanted)
            while (left := turn - time.monotonic()) > 0:
                time.sleep(min(left, WAIT_SLICE_SECONDS))
                if self.should_stop():
                    return False
                if time.monotonic() >= self.renew_at:
                    self.renew()
            if granted:
                return True

    def settled(self, delivery, outcome):
        if self.pacer is not None:
            self.pacer.settled(outcome)
        if self.recorder is None:
            return
        if written := self.recorder.settled(delivery.notification.pk, outcome):
            # Recorded rows are no longer held by the claim: renewing them would find them
            # settled and call them lapsed.
            self.rows = [row for row in self.rows if row.pk not in written]
            self.held -= written

    @property
    def recorded(self):
        """The pks already written mid-batch: sent, and no longer this claim's."""
        return self.recorder.recorded if self.recorder is not None else frozenset()

    def receipts(self, deliveries):
        # Receipts are kept per notification; a digest keeps none (a retried digest goes to
        # every destination again), and no channel that sends to several destinations sends
        # digests today.
        pks = [delivery.notification.pk for delivery in deliveries if delivery.kind == "notification"]
        return DestinationReceipt.objects.using(self.using).by_notification(pks) if pks else {}

    def took(self, delivery, receipt_key):
        if delivery.kind != "notification":
            return
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
