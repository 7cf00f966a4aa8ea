"""Changes proposed to files this bench does not own, measured beside the current code.

``python -m bench.proposals [emails]`` delivers the same emails with one worker two ways,
on SQLite into the SMTP sink, and compares each with the raw smtplib limit of the same run:

1. the current code;
2. ``spire_notify.automations._record`` writing outcomes with one UPDATE per distinct
   outcome instead of ``bulk_update`` (a CASE per field per row).

The function below is the proposed code, written as a patch so that it can be measured
without editing its owner's file.
"""

import json
import os
import sys
import tempfile
from collections import Counter, defaultdict
from contextlib import contextmanager
from unittest import mock


def record_grouped(rows, outcomes, *, using):
    """``automations._record`` with one UPDATE per distinct outcome instead of bulk_update."""
    from django.utils import timezone

    from spire_notify import automations, conf
    from spire_notify.models import Notification, NotificationStatus
    from spire_notify.retry import retry_delay, status_after_failure

    if not rows:
        return Counter()
    now = timezone.now()
    max_attempts = conf.get("NOTIFY_MAX_ATTEMPTS")
    for row, outcome in zip(rows, outcomes, strict=True):
        row.lease_expires_at = None
        if outcome.sent:
            row.status, row.sent_at, row.last_error = NotificationStatus.SENT, now, ""
        else:
            row.last_error = outcome.error
            row.status = status_after_failure(attempts=row.attempts, max_attempts=max_attempts,
                                              permanent=outcome.permanent)
            row.next_attempt_at = now + retry_delay(row.attempts, base=conf.get("NOTIFY_RETRY_BASE_DELAY"),
                                                    cap=conf.get("NOTIFY_RETRY_MAX_DELAY"))
    token = rows[0].claimed_by
    # The rows of one message share their rendering and, mostly, their outcome: one UPDATE each.
    groups = defaultdict(list)
    for row in rows:
        groups[tuple(getattr(row, field) for field in automations.RECORDED_FIELDS)].append(row.pk)
    held = Notification.objects.using(using).filter(claimed_by=token, status=NotificationStatus.PROCESSING)
    recorded = set()
    for values, pks in groups.items():
        if held.filter(pk__in=pks).update(**dict(zip(automations.RECORDED_FIELDS, values))) == len(pks):
            recorded.update(pks)
        else:
            recorded.update(held.model.objects.using(using).filter(pk__in=pks, claimed_by=token)
                            .values_list("pk", flat=True))
    rows = [row for row in rows if row.pk in recorded]
    automations._send_signals(rows)
    return Counter(row.status for row in rows)


@contextmanager
def variant(name):
    from spire_notify import automations

    if name == "current":
        yield
    else:
        with mock.patch.object(automations, "_record", record_grouped):
            yield


PROPOSED = "grouped record"
VARIANTS = ("current", PROPOSED)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    from .__main__ import SmtpSink

    with tempfile.TemporaryDirectory() as workdir, SmtpSink() as sink:
        os.environ.update(BENCH_WORKDIR=workdir, BENCH_SMTP_PORT=str(sink.port),
                          DJANGO_SETTINGS_MODULE="bench.settings")
        import django

        django.setup()
        from django.db import connection

        from . import delivery, population
        from .measure import median

        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        users = population.make_users("proposal-", count)
        message = population.new_ticket_message(population.quiet_ticket())
        flattened = delivery._flattened_emails(message, users)
        times = {name: [] for name in (*VARIANTS, "raw")}
        for _ in range(runs):
            for name in VARIANTS:
                with variant(name):
                    _, worker, rendering = delivery._ours(message, users)
                times[name].append(worker - rendering)
            times["raw"].append(delivery._raw(flattened))
        raw = median(times["raw"])
        figures = {name: {"msg_per_s": count / median(values), "of_raw": raw / median(values)}
                   for name, values in times.items()}
        for name, figure in figures.items():
            print(f"  {name:<34} {figure['msg_per_s']:8,.0f} msg/s  {figure['of_raw']:5.0%} of raw")
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
