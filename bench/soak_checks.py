"""What the soak checks at the end, from the sink's ledger and the database.

Delivery is at least once: a worker killed after the relay accepted a message and before it
recorded the row leaves the row ``processing``; once the lease expires another worker sends
it again, under the same Message-ID (receivers may drop the copy). So a row accepted twice is
allowed exactly where that happened — the worker that handed over the earlier copy was
SIGKILLed after the sink accepted it, and the later copy came after that kill — and every such
copy is counted and reported. Anything else accepted twice, any row lost, any row left unsettled
fails the soak.
"""

import itertools
import re
from collections import Counter
from dataclasses import dataclass

from spire_notify import conf
from spire_notify.models import Notification, NotificationStatus

SETTLED = {NotificationStatus.SENT, NotificationStatus.FAILED}
# The faults every run must have injected, or it proved nothing about them.
REQUIRED_FAULTS = ("transient-rcpt", "transient-data", "drop", "stall")
# A worker's memory may settle a little as it warms up; a leak grows past this.
MEMORY_GROWTH_ALLOWED = 0.10
# A reply no retry mends: the sink's 554 (its only one).
PERMANENT_REPLY = re.compile(r"\b5\d\d\b")


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Duplicates:
    rows: int  # rows accepted more than once
    copies: int  # acceptances beyond the first
    unexplained: list  # (pk, acceptance times) of copies no kill explains


def email_rows():
    return list(
        Notification.objects.filter(channel="email").values_list("pk", "status", "last_error", "attempts")
    )


# A worker SIGKILLed with messages already written to its sockets (one per connection) leaves
# them to arrive after it died: the sink reads and accepts them a few milliseconds later. So a
# kill up to this long before an acceptance still explains it (the 30-minute soak saw 3 of 289).
IN_FLIGHT_SECONDS = 0.5


def killed_after(acceptance, kills):
    """Whether the worker that handed ``acceptance`` over was SIGKILLed after it handed it over
    (after the sink accepted it, or while it was on its way)."""
    return any(
        kill.pid == acceptance.worker_pid and kill.at >= acceptance.at - IN_FLIGHT_SECONDS for kill in kills
    )


def explained_by_kill(earlier, later, kills):
    """Whether a SIGKILL of the worker that handed ``earlier`` over, once it had handed it over
    and before ``later``, explains the second copy."""
    return any(
        kill.pid == earlier.worker_pid and earlier.at - IN_FLIGHT_SECONDS <= kill.at <= later.at
        for kill in kills
    )


def find_duplicates(by_row, kills):
    rows = copies = 0
    unexplained = []
    for pk, acceptances in by_row.items():
        if len(acceptances) < 2:
            continue
        rows += 1
        for earlier, later in itertools.pairwise(acceptances):
            copies += 1
            if not explained_by_kill(earlier, later, kills):
                unexplained.append((pk, [acceptance.at for acceptance in acceptances]))
    return Duplicates(rows, copies, unexplained)


def failure_reasons(rows):
    return Counter(
        (error or "(no reason)").splitlines()[0][:60] for _, status, error, _ in rows if status == "failed"
    )


def run_checks(*, ledger, kills, written, drained, crashed, memory, kill_every):
    """Every check of the soak, in the order the table prints them."""
    rows = email_rows()
    by_row, strangers = ledger.acceptances_by_row()
    statuses = Counter(status for _, status, _, _ in rows)
    row_status = {pk: status for pk, status, _, _ in rows}
    unsettled = {status: n for status, n in statuses.items() if status not in SETTLED}
    lost = [pk for pk, status, _, _ in rows if status == "sent" and pk not in by_row]
    unknown = strangers + [f"row {pk}" for pk in by_row if pk not in row_status]
    failed_delivered = [
        pk
        for pk, status, _, _ in rows
        if status == "failed" and pk in by_row and not killed_after(by_row[pk][-1], kills)
    ]
    reasons_missing = [pk for pk, status, error, _ in rows if status == "failed" and not error]
    max_attempts = conf.get("NOTIFY_MAX_ATTEMPTS")
    given_up_early = [
        pk
        for pk, status, error, attempts in rows
        if status == "failed" and attempts < max_attempts and not PERMANENT_REPLY.search(error)
    ]
    duplicates = find_duplicates(by_row, kills)
    app_unsent = Notification.objects.filter(channel="app").exclude(status="sent").count()
    missing_faults = [kind for kind in REQUIRED_FAULTS if not ledger.faults[kind]]
    first, last = memory
    return [
        Check(
            "every email written is in the database",
            len(rows) == written,
            f"{len(rows)} rows, {written} written",
        ),
        Check(
            "every email row settled (sent or failed)",
            not unsettled,
            ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())),
        ),
        Check(
            "no row left processing",
            not statuses.get("processing"),
            f"{statuses.get('processing', 0)} processing",
        ),
        Check(
            "every failed row says why",
            not reasons_missing,
            "; ".join(f"{n}× {reason}" for reason, n in failure_reasons(rows).most_common(3))
            or "none failed",
        ),
        Check(
            "failed only for good (5xx) or after the last attempt",
            not given_up_early,
            f"{len(given_up_early)} given up early",
        ),
        Check("none lost (every sent row reached the sink)", not lost, f"{len(lost)} lost"),
        Check("every accepted email maps to a row", not unknown, f"{len(unknown)} without a row"),
        Check(
            "duplicates only after a kill (at-least-once)",
            not duplicates.unexplained,
            f"{duplicates.rows} rows delivered more than once, {duplicates.copies} extra copies, "
            f"{len(duplicates.unexplained)} not explained by a kill",
        ),
        Check(
            "no failed row was accepted, unless its worker was killed",
            not failed_delivered,
            f"{len(failed_delivered)} failed rows accepted by the sink",
        ),
        Check("app rows all in the inbox (sent)", not app_unsent, f"{app_unsent} not sent"),
        Check(
            "faults injected",
            not missing_faults and (kill_every <= 0 or bool(kills)),
            ", ".join(f"{n} {kind}" for kind, n in sorted(ledger.faults.items()))
            + f", {len(kills)} SIGKILLs",
        ),
        Check(
            "drained within the drain timeout",
            drained is not None,
            f"{drained:.1f} s" if drained else "timed out",
        ),
        Check(
            "no worker exited on its own",
            not crashed,
            ", ".join(f"pid {p} exit {c}" for p, c in crashed) or "none",
        ),
        Check(
            "worker memory flat (max RSS, first vs last minute)",
            first is not None and last is not None and last <= first * (1 + MEMORY_GROWTH_ALLOWED),
            f"{first or 0:.1f} MB → {last or 0:.1f} MB (at most +{MEMORY_GROWTH_ALLOWED:.0%})",
        ),
    ]
