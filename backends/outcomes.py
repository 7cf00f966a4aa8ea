"""What a backend and the worker hand each other: ``Rendered`` (what a backend made of a
message), ``Delivery`` (a row and its rendering), ``Outcome`` (what became of it, one status and
an error) and ``SendGuard`` (what the send loop asks before each hand-off). Importable as well
from ``spire_notify.backends.base``, beside the contract that uses them."""

import traceback
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class Rendered:
    """What a backend made of a message for one recipient.

    ``body`` and ``url`` are stored on the notification row; ``content`` is what ``send``
    transmits (an email message, a JSON document, nothing at all for the in-app inbox).
    """

    body: str
    url: str
    content: Any = None


@dataclass(frozen=True)
class Delivery:
    """One row handed to a backend, and its rendering.

    ``notification`` is what was claimed: a ``Notification``, or for a digest the ``Digest``
    that carries the rows. ``kind`` says which (``"notification"`` or ``"digest"``), so that a
    backend that names a delivery (an email's Message-ID) never has to look at its model.
    """

    notification: Any
    rendered: Rendered
    kind: str = "notification"


class OutcomeStatus(StrEnum):
    """What became of one delivery."""

    SENT = "sent"
    TEMPORARY = "temporary"  # failed; retried with backoff
    PERMANENT = "permanent"  # failed for good
    SKIPPED = "skipped"  # nothing sent, on purpose; final
    WITHHELD = "withheld"  # never handed over: costs no attempt, ready again at once
    THROTTLED = "throttled"  # the receiver said "too fast": costs no attempt, ready again later


@dataclass(frozen=True)
class Outcome:
    """The result of one delivery: one status, and the error (or reason) of any status but
    ``SENT``. Build it with the constructors below; one that would contradict itself (a sent
    delivery with an error, a failure without one) raises ``ValueError``.

    ``via`` names the route that took a sent delivery, for a backend with several (the email
    channel's mailers, with ``failover``); ``""`` where there is one. It is left out of equality:
    a success is a success whichever route took it, to the send loop and to every caller that
    compares outcomes."""

    status: OutcomeStatus
    error: str = ""
    # Keyword-only, so that neither can be taken for the other (or for the error) by position.
    via: str = field(default="", compare=False, kw_only=True)
    # Seconds the receiver asked us to wait (an HTTP Retry-After); only a throttled outcome has it.
    retry_after: float | None = field(default=None, kw_only=True)

    def __post_init__(self):
        object.__setattr__(self, "status", OutcomeStatus(self.status))
        if self.retry_after is not None and self.status is not OutcomeStatus.THROTTLED:
            raise ValueError(f"only a throttled Outcome carries retry_after, not a {self.status} one")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError(f"retry_after is a number of seconds to wait, not {self.retry_after!r}")
        if self.status is OutcomeStatus.SENT and self.error:
            raise ValueError(f"a sent Outcome carries no error, not {self.error!r}")
        if self.status is not OutcomeStatus.SENT and not self.error:
            raise ValueError(f"a {self.status} Outcome needs an error that says why")
        if self.via and self.status is not OutcomeStatus.SENT:
            raise ValueError(f"a {self.status} Outcome was sent through no route, not {self.via!r}")

    @classmethod
    def success(cls, via=""):
        return cls(OutcomeStatus.SENT, via=via)

    @classmethod
    def temporary(cls, error):
        return cls(OutcomeStatus.TEMPORARY, error)

    @classmethod
    def permanent_failure(cls, error):
        return cls(OutcomeStatus.PERMANENT, error)

    @classmethod
    def not_sent(cls, reason):
        return cls(OutcomeStatus.WITHHELD, reason)

    @classmethod
    def skipped(cls, reason):
        return cls(OutcomeStatus.SKIPPED, reason)

    @classmethod
    def throttled(cls, error, retry_after=None):
        """The receiver refused for now because we send too fast (SMTP 421, HTTP 429): not an
        attempt that failed, so the row waits ``retry_after`` seconds (or a backoff) and the
        channel slows down."""
        return cls(OutcomeStatus.THROTTLED, error, retry_after=retry_after)

    # Read-only views of the status, for the call sites that ask one question of it.

    @property
    def sent(self):
        return self.status is OutcomeStatus.SENT

    @property
    def permanent(self):
        return self.status is OutcomeStatus.PERMANENT

    @property
    def withheld(self):
        return self.status is OutcomeStatus.WITHHELD

    @property
    def skip(self):
        return self.status is OutcomeStatus.SKIPPED

    @property
    def throttle(self):
        return self.status is OutcomeStatus.THROTTLED


def describe_error(error: BaseException) -> str:
    """The last line of the traceback: the exception's type and message."""
    return traceback.format_exception_only(error)[-1].strip()


class SendGuard:
    """What the send loop asks before each hand-off, and tells when a destination took a row.

    This one, the guard of a ``send()`` called outside a worker, lets every delivery go (or
    asks ``withhold(delivery)``, a plain callable's reason) and remembers nothing. The worker's
    ``ClaimKeeper`` keeps the claim, and the receipts a retry reads.
    """

    # Whether it paces the hand-offs (a rate limit): the loop then clears each one only once a
    # connection is free to send it at once.
    paces = False

    def __init__(self, withhold=None):
        self.withhold = withhold

    def __call__(self, delivery):
        """A reason to withhold ``delivery`` and the rest of the batch, or ``None``."""
        return self.withhold(delivery) if self.withhold else None

    def receipts(self, deliveries):
        """``{notification pk: receipt keys of the destinations that took it}`` for a batch."""
        return {}

    def took(self, delivery, receipt_key):
        """The destination of ``receipt_key`` took ``delivery``: a retry must not send it there."""

    def settled(self, delivery, outcome):
        """``delivery`` was handed over and ended in ``outcome``. The send loop tells it as soon
        as it knows, in the thread that asks the guard, before the hand-offs still to come: a
        guard that paces a channel slows down on a throttling reply."""


always_send = SendGuard()


def as_send_guard(guard):
    """``guard`` as a ``SendGuard``: a plain callable only withholds."""
    return guard if isinstance(guard, SendGuard) else SendGuard(guard)
