"""``Deferred``: a channel that delivers after a delay, and only if the in-app notification of
the same message is still unread by then ("tell me in the app; if I haven't looked in ten
minutes, email me").

It stands in a recipient's channel list where an alias would::

    notify(message, {user: ["app", Deferred("email", timedelta(minutes=10))]})

The deferred row is written with the others, due ``delay`` after the message's due time, and
tied to the recipient's in-app row of the same message (``Notification.unless_read``); the
worker that claims it skips it if that row was read (``spire_notify.escalation``).
"""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Deferred:
    """Deliver on ``channel`` (a ``NOTIFY_BACKENDS`` alias) ``delay`` after the message is due;
    with ``unless_read``, not at all if the recipient read the in-app notification by then."""

    channel: str
    delay: timedelta
    unless_read: bool = True

    def __post_init__(self):
        if not isinstance(self.delay, timedelta):
            raise TypeError(f"Deferred({self.channel!r}): delay must be a timedelta, not {self.delay!r}.")
        if self.delay < timedelta(0):
            raise ValueError(f"Deferred({self.channel!r}): delay must not be negative.")


def channel_of(entry):
    """The alias of a channel-list entry: the alias itself, or a ``Deferred``'s channel."""
    return entry.channel if isinstance(entry, Deferred) else entry


def row_timing(entry, mode, backend, user, due):
    """The fields that say when one row is delivered: ``{}`` for at ``due``, later for a
    ``Deferred`` entry, held until the end of the digest window for a recipient in digest mode.

    A digest takes precedence over a delay: the digest is the later of the two anyway. A held
    ``Deferred`` row is tied to the in-app row all the same, so that reading it in the app takes
    it out of the digest.
    """
    from spire_notify.digests import held_fields, holds_for_digest

    if not isinstance(entry, Deferred):
        return held_fields(due) if holds_for_digest(mode, backend, user) else {}
    # _tie_to_inbox is not a field: escalation.insert_notifications() reads it to set unless_read.
    tie = {"_tie_to_inbox": entry.unless_read}
    if holds_for_digest(mode, backend, user):
        return held_fields(due) | tie
    if not backend.transmits:
        raise ValueError(
            f"Deferred({entry.channel!r}): that channel delivers by writing (the in-app inbox), "
            "so it cannot be delayed; defer a channel that transmits, such as email."
        )
    later = due + entry.delay
    return {"send_after": later, "next_attempt_at": later} | tie


def delivery_times(notifications):
    """When a worker has work among ``notifications``: the due time of each row waiting for
    one, and the end of the digest window of held rows; rows written ``sent`` need none."""
    from spire_notify.models import NotificationStatus

    waiting = (NotificationStatus.PENDING, NotificationStatus.HELD)
    return sorted({row.send_after for row in notifications if row.status in waiting})
