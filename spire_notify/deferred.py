"""``Deferred``: a channel that delivers after a delay, and only if the in-app notification of
the same message is still unread by then ("tell me in the app; if I haven't looked in ten
minutes, email me").

It stands in a recipient's channel list where an alias would::

    notify(message, {user: ["app", Deferred("email", timedelta(minutes=10))]})

The deferred row is written with the others, due ``delay`` after the message's due time, and
tied to the recipient's in-app row of the same message (``Notification.unless_read``); the
worker that claims it skips it if that row was read (``spire_notify.store.inserts``).
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
