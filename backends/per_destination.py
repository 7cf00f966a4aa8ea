"""Backends that send each row to several destinations: a user's browsers, their chat URLs.

The base class's send loop hands each row to ``hand_over()``; here it goes to each of the row's
destinations in turn, under rules that hold for every such backend:

- **One deadline per row.** All its destinations together take at most
  ``NOTIFY_DELIVERY_DEADLINE_SECONDS`` (at most half the lease, check E100). A destination is
  started only if its send (``timeout`` at most) can end by then; the rest wait for a retry.
  Without it a row to a thousand browsers that never answer held its worker for hours, and
  other workers took its batch over and sent its other rows again.
- **The guard is asked before each destination**, as before each row: the worker renews its
  claim as the row goes on, and a row whose claim lapsed is withheld, not sent.
- **A failure stays with its destination**; a gone destination is forgotten whatever else
  fails.
- **A destination that took the row is not sent it again**: the guard keeps a receipt as each
  takes it (the worker's is a ``DestinationReceipt`` row), and a retry skips the destinations
  that have one. A retry also starts where the attempts before it had to stop, so the
  destinations behind a run of ones that never answer are reached too.

The row's outcome: retried while any destination failed temporarily or was not tried before
the deadline; else sent if any destination took it, now or on an earlier attempt; else failed.
"""

import hashlib
import logging
import time
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

from spire_notify import conf
from spire_notify.backends.base import BaseNotificationBackend, Outcome, OutcomeStatus

logger = logging.getLogger("spire_notify")


@dataclass(frozen=True)
class DestinationBatch:
    """The destinations of a batch's rows, and the receipt keys of those that took them."""

    destinations: dict  # {notification pk: [destination, …]}
    receipts: dict  # {notification pk: {receipt key, …}}


@dataclass
class DestinationTally:
    """How one row's sends to its destinations went, and the row's outcome from it."""

    deadline_seconds: float
    reached: bool = False
    out_of_time: bool = False
    temporary: list = field(default_factory=list)
    permanent: list = field(default_factory=list)
    gone: list = field(default_factory=list)
    throttled: list = field(default_factory=list)  # the Outcomes of destinations that said "too fast"

    def record(self, outcome):
        """Count one destination's outcome: sent, or a failure kept with its kind."""
        match outcome.status:
            case OutcomeStatus.SENT:
                self.reached = True
            case OutcomeStatus.TEMPORARY:
                self.temporary.append(outcome.error)
            case OutcomeStatus.PERMANENT:
                self.permanent.append(outcome.error)
            case OutcomeStatus.THROTTLED:
                self.throttled.append(outcome)
            case _:
                # Skipping or withholding is decided for the row, before its destinations.
                raise ValueError(
                    f"a destination's send is sent, temporary, permanent or throttled, not {outcome.status}"
                )

    def outcome(self):
        if self.temporary or self.out_of_time:
            return Outcome.temporary("; ".join([*dict.fromkeys(self.temporary), *self.deadline_note()]))
        if self.throttled:
            # Only throttled destinations are left to reach: the retry, after the longest wait
            # one of them asked, costs no attempt (the others' receipts keep them from a second).
            waits = [outcome.retry_after for outcome in self.throttled if outcome.retry_after is not None]
            return Outcome.throttled(
                "; ".join(dict.fromkeys(outcome.error for outcome in self.throttled)),
                retry_after=max(waits) if waits else None,
            )
        if self.reached:
            if self.permanent:
                logger.warning("Sent, but not to every destination: %s", "; ".join(self.permanent))
            return Outcome.success()
        return Outcome.permanent_failure("; ".join(dict.fromkeys(self.permanent)))

    def deadline_note(self):
        if not self.out_of_time:
            return []
        return [
            f"the delivery deadline ({self.deadline_seconds:g}s) passed before every destination "
            "was tried: the rest are tried on retry"
        ]


class DestinationsBackend(BaseNotificationBackend):
    """A backend that sends each row to several destinations. It fills ``destinations_of()``,
    ``destination_key()`` and ``send_to_destination()`` (and, where they apply,
    ``destination_gone()``, ``forget_destinations()`` and ``no_destinations()``), and has
    ``timeout``: the longest one destination's send may take."""

    sends_to_destinations = True

    # -- hooks ----------------------------------------------------------------------------

    def destinations_of(self, deliveries) -> dict:
        """``{notification pk: [destination, …]}`` for a batch, loaded at once."""
        raise NotImplementedError("subclasses of DestinationsBackend must define destinations_of()")

    def destination_key(self, destination) -> str:
        """What identifies ``destination`` across attempts (an endpoint, a URL)."""
        raise NotImplementedError("subclasses of DestinationsBackend must define destination_key()")

    def send_to_destination(self, connection, delivery, destination) -> Outcome:
        """Hand one delivery to one destination and return its ``Outcome`` (sent, temporary or
        permanent); raising works too (``classify_error`` reads the exception, and
        ``destination_gone`` whether the destination is to be forgotten)."""
        raise NotImplementedError("subclasses of DestinationsBackend must define send_to_destination()")

    def destination_gone(self, error) -> bool:
        """Whether ``error`` says the destination no longer exists (so it is forgotten)."""
        return False

    def forget_destinations(self, destinations):
        """Delete the destinations that are gone for good."""

    def no_destinations(self) -> Outcome:
        """The outcome of a row whose recipient has no destination at all."""
        return Outcome.skipped("the recipient has no destination")

    def receipt_key(self, destination) -> str:
        """The key a receipt keeps: a digest of ``destination_key()``, which may be a secret."""
        return hashlib.sha256(self.destination_key(destination).encode()).hexdigest()

    # -- the send loop's hooks ------------------------------------------------------------

    def prepare_batch(self, deliveries, guard):
        return DestinationBatch(
            destinations=self.destinations_of(deliveries), receipts=guard.receipts(deliveries)
        )

    def hand_over(self, connection, delivery, *, guard, batch):
        pk = delivery.notification.pk
        destinations, taken = batch.destinations.get(pk, []), batch.receipts.get(pk, set())
        if not destinations and not taken:
            return self.no_destinations(), connection
        tally = DestinationTally(conf.get("NOTIFY_DELIVERY_DEADLINE_SECONDS"), reached=bool(taken))
        deadline = time.monotonic() + tally.deadline_seconds
        try:
            for destination in self.in_turn(destinations, delivery, tally.deadline_seconds):
                key = self.receipt_key(destination)
                if key in taken:
                    continue
                if reason := guard(delivery):
                    return Outcome.not_sent(reason), connection
                # A send may take ``timeout``: one that could not end by the deadline waits.
                if time.monotonic() + self.timeout > deadline:
                    tally.out_of_time = True
                    break
                self._send_to(connection, delivery, destination, key, guard=guard, tally=tally)
        finally:
            # Whatever else failed or stopped the row, a gone destination is forgotten.
            if tally.gone:
                self.forget_destinations(tally.gone)
        return tally.outcome(), connection

    def in_turn(self, destinations, delivery, deadline_seconds):
        """The row's destinations, from where its earlier attempts may have stopped: each
        attempt starts past the most that hanging ones let the attempts before it try, so that
        destinations behind ones that never answer are reached on a retry."""
        per_attempt = max(1, int(deadline_seconds // self.timeout))
        # A row handed over outside the worker (the contract kit's) is on its first attempt.
        earlier_attempts = max(getattr(delivery.notification, "attempts", 1) - 1, 0)
        start = earlier_attempts * per_attempt % len(destinations) if destinations else 0
        return destinations[start:] + destinations[:start]

    def _send_to(self, connection, delivery, destination, key, *, guard, tally):
        try:
            outcome = self.returned_outcome(
                "send_to_destination", self.send_to_destination(connection, delivery, destination)
            )
        except ImproperlyConfigured:
            raise
        except Exception as error:
            outcome = self.classify_error(error)
            if self.destination_gone(error):
                tally.gone.append(destination)
        tally.record(outcome)
        if outcome.sent:
            guard.took(delivery, key)
