"""What the worker leaves out before it renders: rows that no longer apply.

Each step answers ``{pk: Outcome}`` (skipped, with the reason) for the rows it leaves out, and
sees only the rows the steps before it kept; the worker's rows and a digest's items go through
the same steps.
"""

from collections import defaultdict

from spire_notify.backends.base import Outcome
from spire_notify.backends.outcomes import describe_error
from spire_notify.handler import notify_backends
from spire_notify.notification_types import active_notifier, unless_condition
from spire_notify.preferences import skip_switched_off

DEACTIVATED = "Skipped: the user was deactivated after the notification was written."
ACCESS_LOST = "Skipped: the user may no longer see what the notification is about."
READ_IN_APP = "Skipped: read in the app before the delay."
READ_BEFORE_DIGEST = "Skipped: read in the app before its digest was sent."
CONDITION_HELD = "Skipped: the unless condition of {notifier} on {channel!r} held at delivery."


def skip_what_no_longer_applies(rows, backend, *, targets, read_reason=READ_IN_APP, using):
    """``{pk: Outcome}`` of the rows not to send after all: their recipient may no longer be
    reached (``targets``, the load step's, say what each row is about), read the in-app copy
    (``read_reason`` says before what), or switched their type off on ``backend``'s channel
    since. Each step sees only the rows the steps before it kept; the worker's rows and a
    digest's items go through the same steps."""
    steps = (
        lambda kept: skip_unreachable(kept, targets),
        lambda kept: skip_read_in_app(kept, reason=read_reason, using=using),
        lambda kept: skip_switched_off(kept, kept_address=backend.kept_address, using=using),
        skip_by_condition,
    )
    outcomes = {}
    for step in steps:
        outcomes.update(step([row for row in rows if row.pk not in outcomes]))
    return outcomes


def skip_unreachable(rows, targets):
    """``{pk: Outcome}`` of rows whose recipient may no longer be reached: a user deactivated
    since, or one the row's target (``targets.target_of(row)``) no longer lets see it.

    A target says so with ``allowed_notification_recipients(users) -> pks`` (asked once per
    target and batch) or ``allows_notification_to(user) -> bool`` (asked per row).
    """
    outcomes = {}
    by_target = defaultdict(list)
    for row in rows:
        if row.user is None:
            continue
        if not row.user.is_active:
            outcomes[row.pk] = Outcome.skipped(DEACTIVATED)
        elif (target := targets.target_of(row)) is not None:
            by_target[target].append(row)
    for target, target_rows in by_target.items():
        if hasattr(target, "allowed_notification_recipients"):
            allowed = target.allowed_notification_recipients([row.user for row in target_rows])
            lost = [row for row in target_rows if row.user.pk not in allowed]
        elif hasattr(target, "allows_notification_to"):
            lost = [row for row in target_rows if not target.allows_notification_to(row.user)]
        else:
            continue
        outcomes.update({row.pk: Outcome.skipped(ACCESS_LOST) for row in lost})
    return outcomes


def skip_read_in_app(rows, *, reason=READ_IN_APP, using="default"):
    """``{pk: Outcome}`` skipping the rows tied (``unless_read``) to a row that was read, for
    ``reason``; one query per channel that tracks reading, none when no row is tied."""
    tied = {row.pk: row.unless_read_id for row in rows if row.unless_read_id is not None}
    if not tied:
        return {}
    read = set()
    for backend in notify_backends.all():
        if backend.tracks_reading:
            read |= backend.read_among(set(tied.values()), using=using)
    return {pk: Outcome.skipped(reason) for pk, tracked_pk in tied.items() if tracked_pk in read}


def skip_by_condition(rows):
    """``{pk: Outcome}`` of the rows whose Notifier's ``unless`` condition for their channel
    holds now (``Channel(alias, unless=callable)``), asked with each row. A condition that raises
    leaves its row to be tried again, with the error recorded; it never stops the batch."""
    outcomes = {}
    for row in rows:
        condition = unless_condition(row.event, row.channel)
        if condition is None:
            continue
        try:
            holds = condition(row)
        except Exception as error:
            outcomes[row.pk] = Outcome.temporary(
                f"The unless condition of {row.event!r} on {row.channel!r} raised {describe_error(error)}"
            )
            continue
        if holds:
            notifier = active_notifier(row.event).__name__
            outcomes[row.pk] = Outcome.skipped(CONDITION_HELD.format(notifier=notifier, channel=row.channel))
    return outcomes
