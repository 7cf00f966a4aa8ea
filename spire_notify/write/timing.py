"""When each row is delivered: at once, after a ``Deferred`` delay, or held for a digest.

A digest takes precedence over a delay: the digest is the later of the two anyway.
"""

from spire_notify.deferred import Deferred
from spire_notify.store.held import held_fields
from spire_notify.store.models import DeliveryMode, NotificationStatus


def holds_for_digest(mode, backend, user):
    """Whether a row in ``mode`` on ``backend`` for ``user`` (``None``: a guest) is held."""
    return mode == DeliveryMode.DIGEST and backend.supports_digest and user is not None


def row_timing(entry, mode, backend, user, due):
    """The fields that say when one row is delivered: ``{}`` for at ``due``, later for a
    ``Deferred`` entry, held until the end of the digest window for a recipient in digest mode.

    A digest takes precedence over a delay: the digest is the later of the two anyway.
    """
    if not isinstance(entry, Deferred):
        return held_fields(due) if holds_for_digest(mode, backend, user) else {}
    if holds_for_digest(mode, backend, user):
        return held_fields(due)
    if not backend.transmits:
        raise ValueError(
            f"Deferred({entry.channel!r}): that channel delivers by writing (the in-app inbox), "
            "so it cannot be delayed; defer a channel that transmits, such as email."
        )
    later = due + entry.delay
    return {"send_after": later, "next_attempt_at": later}


def cancelled_by_reading(entry):
    """Whether reading the recipient's read-tracking row (the inbox's) cancels the row of
    ``entry``: a ``Deferred`` with ``unless_read``. A held one is tied all the same, so that
    reading it in the app takes it out of the digest."""
    return isinstance(entry, Deferred) and entry.unless_read


def delivery_times(notifications):
    """When a worker has work among ``notifications``: the due time of each row waiting for
    one, and the end of the digest window of held rows; rows written ``sent`` need none."""
    waiting = (NotificationStatus.PENDING, NotificationStatus.HELD)
    return sorted({row.send_after for row in notifications if row.status in waiting})
