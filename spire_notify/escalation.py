"""Escalation: a deferred row tied to the in-app row of the same message, skipped if that
in-app row was read before the deferred row fell due, or, held for a digest, before the digest
was sent.

The tie is explicit: the deferred row's ``unless_read`` is the in-app row's primary key, set
when ``notify()`` writes them (in-app rows first, so their keys are known). A recipient with no
in-app row of the message (no in-app channel named, or switched off) gets the deferred row
after the delay, unconditionally. Deleting the in-app row unties it (``SET_NULL``).
"""

from spire_notify.backends.base import Outcome
from spire_notify.models import AppNotification, Notification, inbox_relation
from spire_notify.pinned.django_bulk_insert import insert_rows

READ_IN_APP = "Skipped: read in the app before the delay."
READ_BEFORE_DIGEST = "Skipped: read in the app before its digest was sent."


def insert_notifications(planned, using):
    """Insert the planned rows (``(backend, notification, recipient, message)``): rows to tie
    after the others, each tied to its recipient's in-app row. Two INSERTs at most."""
    untied, to_tie, inbox_rows = [], [], {}
    for backend, notification, _, _ in planned:
        if getattr(notification, "_tie_to_inbox", False):
            to_tie.append(notification)
            continue
        untied.append(notification)
        if notification.user_id is not None and backend.detail_relation() == inbox_relation():
            inbox_rows[notification.user_id] = notification
    insert_rows(Notification, untied, using)
    if to_tie:
        for notification in to_tie:
            inbox_row = inbox_rows.get(notification.user_id)
            notification.unless_read_id = inbox_row.pk if inbox_row is not None else None
        insert_rows(Notification, to_tie, using)


def skip_read_in_app(rows, *, reason=READ_IN_APP, using="default"):
    """``{pk: Outcome}`` skipping the rows whose in-app notification was read, for ``reason``;
    one query."""
    tied = {row.pk: row.unless_read_id for row in rows if row.unless_read_id is not None}
    if not tied:
        return {}
    read = set(
        AppNotification.objects.using(using)
        .filter(notification_id__in=set(tied.values()), read_at__isnull=False)
        .values_list("notification_id", flat=True)
    )
    return {pk: Outcome.skipped(reason) for pk, inbox_pk in tied.items() if inbox_pk in read}
