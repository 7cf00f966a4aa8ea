"""What the soak checks at the end, from the sink's ledger and the database.

Delivery is at least once: a worker killed after the relay accepted a message and before it
recorded the row leaves the row ``processing``; once the lease expires another worker sends
it again, under the same Message-ID (receivers may drop the copy). So a row accepted twice is
allowed exactly where that happened — the worker that handed over the earlier copy was
SIGKILLed after the sink accepted it, and the later copy came after that kill — or where the
earlier copy is one the sink kept after a hang, when the worker's SMTP timeout had already fired
and the row was retried. Every such copy is counted and reported, and each must have a fault
of its own: a row delivered three times needs two (a kill, then a kill of the worker that
retried it). Anything else accepted twice, any row lost, any row left unsettled fails the
soak.
"""

import itertools
import re
from collections import Counter
from dataclasses import dataclass

from spire_notify import conf
from spire_notify.channels.app.models import AppNotification
from spire_notify.models import Digest, Notification, NotificationStatus

SETTLED = {NotificationStatus.SENT, NotificationStatus.FAILED, NotificationStatus.SKIPPED}
# Settled without being sent: each must say why.
ENDED_UNSENT = {NotificationStatus.FAILED, NotificationStatus.SKIPPED}
# The faults every run must have injected, or it proved nothing about them.
REQUIRED_FAULTS = ("transient-rcpt", "transient-data", "drop", "stall", "hang")
# At-least-once: each extra copy of a row needs a fault of its own behind it (a kill of the
# worker that sent the copy before it, or a hang of one of its copies). One fault explaining two
# copies would be a real duplicate; two faults on one row (a kill, then a kill of the worker
# that retried it) are two copies, which at-least-once delivery cannot rule out.
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
    unexplained: list  # (pk, acceptance times) of copies no kill or hang explains
    too_many: list  # (pk, acceptance times) of rows with more extra copies than faults behind them
    after_hang: int = 0  # of ``copies``, those a hang explains
    thrice: int = 0  # rows accepted three times or more (two faults or more on one row)


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
    and before ``later``, explains the second copy. (A hang explains it otherwise: see
    ``find_duplicates``.)"""
    return any(
        kill.pid == earlier.worker_pid and earlier.at - IN_FLIGHT_SECONDS <= kill.at <= later.at
        for kill in kills
    )


def find_duplicates(by_row, kills):
    rows = copies = after_hang = 0
    unexplained, too_many = [], []
    for pk, acceptances in by_row.items():
        if len(acceptances) < 2:
            continue
        rows += 1
        times = [acceptance.at for acceptance in acceptances]
        faults = {("hang", index) for index, acceptance in enumerate(acceptances) if acceptance.hung}
        for earlier, later in itertools.pairwise(acceptances):
            copies += 1
            # The sink kept a hung copy after the worker's timeout fired: the worker had
            # recorded the row errored, so its retry is the other copy, before or after the
            # hung one is kept (a retry may come sooner than the hang's end).
            if earlier.hung or later.hung:
                after_hang += 1
            elif not explained_by_kill(earlier, later, kills):
                unexplained.append((pk, times))
            faults |= {
                ("kill", kill)
                for kill in kills
                if kill.pid == earlier.worker_pid and earlier.at - IN_FLIGHT_SECONDS <= kill.at <= later.at
            }
        if len(acceptances) - 1 > len(faults):
            too_many.append((pk, times))
    thrice = sum(1 for acceptances in by_row.values() if len(acceptances) > 2)
    return Duplicates(rows, copies, unexplained, too_many, after_hang, thrice)


# The sink's clock and the writer's are the machine's; this only absorbs their rounding.
CLOCK_SLACK = 0.05


def escalation_rows():
    """The email rows of ``Deferred`` escalations: (pk, status, digest pk, due, app row read)."""
    rows = Notification.objects.filter(channel="email", unless_read__isnull=False)
    read = set(
        AppNotification.objects.filter(
            notification__in=rows.values("unless_read"), read_at__isnull=False
        ).values_list("notification_id", flat=True)
    )
    return [
        (pk, status, digest, due.timestamp(), app in read)
        for pk, status, digest, due, app in rows.values_list(
            "pk", "status", "digest", "send_after", "unless_read"
        )
    ]


def check_escalations(escalations, by_row, by_digest):
    """Each escalation sent no sooner than its delay, or skipped because its app row was read."""
    early, skipped_unread = [], []
    for pk, status, digest, due, read in escalations:
        if status == "sent":
            acceptances = by_digest.get(digest, []) if digest else by_row.get(pk, [])
            if acceptances and acceptances[0].at < due - CLOCK_SLACK:
                early.append(pk)
        elif status == "skipped" and not read:
            skipped_unread.append(pk)
    return early, skipped_unread


def check_digests(by_digest):
    """(Digest statuses, digests unsettled or without a reason, sent but never accepted, accepted
    but unknown)."""
    digests = list(Digest.objects.filter(channel="email").values_list("pk", "status", "last_error"))
    statuses = Counter(status for _, status, _ in digests)
    unsettled = [
        pk for pk, status, error in digests if status not in SETTLED or (status in ENDED_UNSENT and not error)
    ]
    lost = [pk for pk, status, _ in digests if status == "sent" and pk not in by_digest]
    known = {pk for pk, _, _ in digests}
    unknown = [pk for pk in by_digest if pk not in known]
    return statuses, unsettled, lost, unknown


def failure_reasons(rows):
    return Counter(
        (error or "(no reason)").splitlines()[0][:60]
        for _, status, error, _ in rows
        if status in ENDED_UNSENT
    )


def run_checks(*, ledger, kills, written, drained, crashed, memory, kill_every):
    """Every check of the soak, in the order the table prints them."""
    rows = email_rows()
    by_row, strangers = ledger.acceptances_by_row()
    by_digest = ledger.acceptances_by_digest()
    carried_by = dict(
        Notification.objects.filter(channel="email", digest__isnull=False).values_list("pk", "digest")
    )
    statuses = Counter(status for _, status, _, _ in rows)
    row_status = {pk: status for pk, status, _, _ in rows}
    unsettled = {status: n for status, n in statuses.items() if status not in SETTLED}
    # A row sent in a digest reached the sink in it, under the digest's Message-ID.
    lost = [
        pk
        for pk, status, _, _ in rows
        if status == "sent" and (carried_by[pk] not in by_digest if pk in carried_by else pk not in by_row)
    ]
    digest_statuses, digests_unsettled, digests_lost, digests_unknown = check_digests(by_digest)
    unknown = (
        strangers
        + [f"row {pk}" for pk in by_row if pk not in row_status]
        + [f"digest {pk}" for pk in digests_unknown]
    )
    escalations = escalation_rows()
    early, skipped_unread = check_escalations(escalations, by_row, by_digest)
    escalated = Counter(status for _, status, _, _, _ in escalations)
    failed_delivered = [
        pk
        for pk, status, _, _ in rows
        if status == "failed"
        and pk in by_row
        and not by_row[pk][-1].hung
        and not killed_after(by_row[pk][-1], kills)
    ]
    reasons_missing = [pk for pk, status, error, _ in rows if status in ENDED_UNSENT and not error]
    max_attempts = conf.get("NOTIFY_MAX_ATTEMPTS")
    given_up_early = [
        pk
        for pk, status, error, attempts in rows
        if status == "failed" and attempts < max_attempts and not PERMANENT_REPLY.search(error)
    ]
    duplicates = find_duplicates(by_row, kills)
    digest_duplicates = find_duplicates(by_digest, kills)
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
            "every email row settled (sent, failed or skipped)",
            not unsettled,
            ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())),
        ),
        Check(
            "no row left processing",
            not statuses.get("processing"),
            f"{statuses.get('processing', 0)} processing",
        ),
        Check(
            "every failed or skipped row says why",
            not reasons_missing,
            "; ".join(f"{n}× {reason}" for reason, n in failure_reasons(rows).most_common(3))
            or "none failed",
        ),
        Check(
            "failed only for good (5xx) or after the last attempt",
            not given_up_early,
            f"{len(given_up_early)} given up early",
        ),
        Check(
            "every digest settled (sent, failed or skipped, with a reason)",
            not digests_unsettled,
            ", ".join(f"{n} {status}" for status, n in sorted(digest_statuses.items())) or "none",
        ),
        Check(
            "each escalation sent after its delay, or skipped as read",
            not early and not skipped_unread,
            ", ".join(f"{n} {status}" for status, n in sorted(escalated.items()))
            + f"; {len(early)} early, {len(skipped_unread)} skipped unread",
        ),
        Check(
            "every shape written and settled",
            bool(digest_statuses["sent"] and escalated["sent"] and escalated["skipped"]),
            f"{digest_statuses['sent']} digests sent, escalations {escalated['sent']} sent, "
            f"{escalated['skipped']} skipped",
        ),
        Check(
            "none lost (every sent row and digest reached the sink)",
            not lost and not digests_lost,
            f"{len(lost)} rows lost, {len(digests_lost)} digests lost",
        ),
        Check("every accepted email maps to a row or digest", not unknown, f"{len(unknown)} without one"),
        Check(
            "duplicates only after a kill or a hang (at-least-once)",
            not duplicates.unexplained and not digest_duplicates.unexplained,
            f"{duplicates.rows} rows and {digest_duplicates.rows} digests delivered more than once, "
            f"{duplicates.copies + digest_duplicates.copies} extra copies "
            f"({duplicates.after_hang + digest_duplicates.after_hang} after a hang), "
            f"{len(duplicates.unexplained) + len(digest_duplicates.unexplained)} not explained",
        ),
        Check(
            "each extra copy has a fault of its own (a kill or a hang)",
            not duplicates.too_many and not digest_duplicates.too_many,
            f"{len(duplicates.too_many) + len(digest_duplicates.too_many)} with more copies than faults; "
            f"{duplicates.thrice + digest_duplicates.thrice} delivered 3 times or more, each copy after a "
            "fault of its own",
        ),
        Check(
            "no failed row was accepted, unless killed or hung",
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
