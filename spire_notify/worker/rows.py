"""The rows the worker sends one by one, as the pipeline's ``Kind``: each claimed row is a parcel
that carries itself, the rows of one message render together, and equal outcomes are written
by one UPDATE.
"""

import json
import logging
from collections import Counter, defaultdict
from itertools import groupby

from django.core.exceptions import ImproperlyConfigured

from spire_notify import clock
from spire_notify.backends.base import Outcome, describe_error
from spire_notify.exceptions import Undeliverable
from spire_notify.message import Message
from spire_notify.store.models import Notification, NotificationStatus
from spire_notify.store.signals import send_signals
from spire_notify.worker.pipeline import Parcel, ending
from spire_notify.worker.skips import READ_IN_APP
from spire_notify.worker.targets import recipient_of

logger = logging.getLogger("spire_notify")

RECORDED_FIELDS = [
    "status",
    "attempts",
    "throttles",
    "body",
    "url",
    "sent_at",
    "last_error",
    "next_attempt_at",
    "lease_expires_at",
]


class Rows:
    """Claimed notification rows (``claim_batch``), each sent on its own."""

    name = "notification"
    model = Notification
    read_reason = READ_IN_APP
    # A row's message is rendered with its target: a row whose target cannot be loaded fails.
    renders_targets = True

    def parcels(self, claimed, *, using):
        return [Parcel(claimed=row, items=(row,)) for row in claimed]

    def no_backend(self, alias, backend):
        return "" if backend is not None else f"NOTIFY_BACKENDS has no backend {alias!r}."

    def emptied(self, left_out):
        # The row itself was left out: it ends as the step that left it out said.
        [(_, outcome)] = left_out
        return outcome

    def render(self, backend, parcels, targets):
        return [
            (parcel, rendered)
            for group in _group_by_message(parcels)
            for parcel, rendered in zip(group, _render(backend, group, targets), strict=True)
        ]

    def record(self, ended, *, using):
        """Write each row's outcome, if this worker still holds the row, and signal it."""
        if not ended:
            return Counter()
        now = clock.now()
        rows = []
        for each in ended:
            row = each.parcel.claimed
            if each.rendered is not None:
                row.body, row.url = each.rendered.body, each.rendered.url
            for field, value in ending(
                each.outcome, attempts=row.attempts, throttles=row.throttles, now=now
            ).items():
                setattr(row, field, value)
            rows.append(row)
        token = rows[0].claimed_by
        # Only rows this worker still holds: if its lease ran out and another worker took them,
        # that worker's record wins.
        held = Notification.objects.using(using).filter(
            claimed_by=token, status=NotificationStatus.PROCESSING
        )
        recorded = set()
        for values, pks in _group_by_values(rows).items():
            updated = held.filter(pk__in=pks).update(**dict(zip(RECORDED_FIELDS, values, strict=True)))
            if updated == len(pks):
                recorded.update(pks)
            else:
                # A worker that takes a row over stamps its own token on it: ours are the rest.
                ours = Notification.objects.using(using).filter(pk__in=pks, claimed_by=token)
                recorded.update(ours.values_list("pk", flat=True))
        if len(recorded) < len(rows):
            logger.warning("%d notification(s) were taken over by another worker.", len(rows) - len(recorded))
            rows = [row for row in rows if row.pk in recorded]
        send_signals(rows)
        throttled = {each.parcel.pk for each in ended if each.outcome.throttle}
        # A throttled row is back in the queue, not errored: counted apart, as it cost no attempt.
        return Counter(
            "throttled" if row.pk in throttled and row.status != NotificationStatus.FAILED else row.status
            for row in rows
        )


ROWS = Rows()


def _render(backend, parcels, targets):
    """One ``Rendered`` per parcel of one message, or the ``Outcome`` of one that could not be
    rendered."""
    first = parcels[0].claimed
    try:
        message = Message.from_payload(first.payload, title=first.title, target=targets.target_of(first))
    except TypeError as error:
        # Written by a version whose Message had other fields: no retry can read it.
        outcome = Outcome.permanent_failure(f"the stored message no longer fits Message: {error}")
        return [outcome] * len(parcels)
    try:
        return backend.render_many(message, [recipient_of(backend, parcel.claimed) for parcel in parcels])
    except ImproperlyConfigured:
        raise
    except Exception as error:
        if len(parcels) > 1:
            # Render one by one, so that only the rows that cannot be rendered fail.
            return [rendered for parcel in parcels for rendered in _render(backend, [parcel], targets)]
        if isinstance(error, Undeliverable):
            return [Outcome.permanent_failure(f"Undeliverable: {error}")]
        logger.exception("%s could not render notification %s", backend, first.pk)
        return [Outcome.temporary(describe_error(error))]


def _group_by_message(parcels):
    """Parcels of the same message, so that a backend renders each message once."""

    def key(parcel):
        row = parcel.claimed
        return (row.title, row.content_type_id or 0, row.object_id, json.dumps(row.payload, sort_keys=True))

    return [list(group) for _, group in groupby(sorted(parcels, key=key), key=key)]


def _group_by_values(rows):
    """``{recorded values: pks}``: the rows of one message share their rendering and, mostly,
    their outcome, so one UPDATE records each group; ``bulk_update``'s CASE per field per row
    was a quarter of the time of delivering a batch of email."""
    groups = defaultdict(list)
    for row in rows:
        groups[tuple(getattr(row, field) for field in RECORDED_FIELDS)].append(row.pk)
    return groups
