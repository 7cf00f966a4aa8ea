"""Inserting the rows of one message, and tying each ``Deferred`` row to the row whose reading
cancels it.

The tie is explicit: the deferred row's ``unless_read`` is the primary key of the recipient's
row of the same message on a channel that tracks reading (``tracks_reading``: the in-app
inbox), set when ``notify()`` writes them (those rows first, so their keys are known). A
recipient with no such row (no in-app channel named, or switched off) gets the deferred row
after the delay, unconditionally. Deleting the read-tracking row unties it (``SET_NULL``). The
worker skips a tied row once that row was read (``spire_notify.worker.skips``).
"""

from dataclasses import dataclass
from typing import Any

from spire_notify.message import Message, Recipient
from spire_notify.pinned.django_bulk_insert import insert_rows
from spire_notify.store.models import Notification


@dataclass(frozen=True)
class Planned:
    """One row the write side is about to insert: its unsaved ``notification``, the backend of
    its channel, whom it is for and the message as written for them; ``unless_read`` for a
    ``Deferred`` row that reading the recipient's read-tracking row cancels."""

    backend: Any
    notification: Notification
    recipient: Recipient
    message: Message
    unless_read: bool = False


def insert_notifications(planned, using):
    """Insert the ``Planned`` rows: rows to tie after the others, each tied to its recipient's
    read-tracking row. Two INSERTs at most."""
    untied, to_tie, read_tracking = [], [], {}
    for row in planned:
        notification = row.notification
        if row.unless_read:
            to_tie.append(notification)
            continue
        untied.append(notification)
        if notification.user_id is not None and row.backend.tracks_reading:
            read_tracking[notification.user_id] = notification
    insert_rows(Notification, untied, using)
    if to_tie:
        for notification in to_tie:
            tracked = read_tracking.get(notification.user_id)
            notification.unless_read_id = tracked.pk if tracked is not None else None
        insert_rows(Notification, to_tie, using)
