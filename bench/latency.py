"""P8: delivery to a relay 25 ms away (``bench.relay``), one worker against its peers.

Every sender goes through the same delaying proxy in front of the SMTP sink, in the same run:
one worker (``process_notifications()``, default settings), the same worker tuned for a relay
(more connections, larger claims: ``TUNED``), four workers at once, raw
``smtplib`` sending the same emails one after the other on one connection, and
django-post-office's ``send_queued()`` in one process. The workers and post-office run in
processes of their own (``bench.relay_sender``), started and connected before the clock starts;
the clock runs from ``go`` to the last one's end.
"""

import json
import os
import subprocess
import sys

from django.conf import settings
from django.db import connection, transaction

from spire_notify import notify

from . import population
from .delivery import _flattened_emails, _raw, queue_post_office
from .measure import Row
from .relay import ONE_WAY, RelayProcess

WORKERS = 4
# One worker tuned for a relay far away: as many connections as a relay allows one client (below
# Postfix's default of 50), and a claim large enough to keep them busy.
TUNED = {"BENCH_EMAIL_CONNECTIONS": "48", "BENCH_BATCH_SIZE": "1000"}


def _senders(side, count, relay_port, tuning=None):
    """Start ``count`` senders, let them go at once: ``(seconds from go to the last end, sent)``."""
    environment = {
        **os.environ,
        "BENCH_DB_NAME": connection.settings_dict["NAME"],
        "BENCH_SMTP_PORT": str(relay_port),
        **(tuning or {}),
    }
    connection.close()  # SQLite: leave the file to the senders.
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.relay_sender", side],
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        for process in processes:
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError(f"bench.relay_sender {side} exited with {process.wait()}")
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        replies = []
        for process in processes:
            line = process.stdout.readline()
            if process.wait() or not line:
                raise RuntimeError(f"bench.relay_sender {side} exited with {process.returncode}")
            replies.append(json.loads(line))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    seconds = max(reply["end"] for reply in replies) - min(reply["start"] for reply in replies)
    return seconds, sum(reply["sent"] for reply in replies)


def _ours(message, users, relay_port, workers, tuning=None):
    with transaction.atomic():
        notify(message, {user: ["email"] for user in users})
    seconds, sent = _senders("ours", workers, relay_port, tuning)
    assert sent == len(users), f"P8: {workers} worker(s) sent {sent} of {len(users)} emails"
    population.wipe_notifications()
    return seconds


def _post_office(message, users, relay_port):
    from post_office.models import Email

    queue_post_office(message, users)
    seconds, sent = _senders("post_office", 1, relay_port)
    assert sent == len(users), f"P8: post-office sent {sent} of {len(users)} emails"
    Email.objects.all().delete()
    return seconds


def _rate(count, seconds):
    return f"{seconds:.1f} s ({count / seconds:,.0f}/s)"


def p8_relay(count, one_way=ONE_WAY):
    """``count`` emails to a relay ``2 × one_way`` away: our worker(s), raw smtplib, post-office."""
    users = population.make_users("p8-", count, handle_tickets=True)
    message = population.new_ticket_message(population.quiet_ticket())
    flattened = _flattened_emails(message, users)
    where = f"{count:,} emails, relay {2 * one_way * 1000:g} ms away:"
    with RelayProcess(settings.SMTP_PORT, one_way) as relay:
        one = _ours(message, users, relay.port, 1)
        tuned = _ours(message, users, relay.port, 1, TUNED)
        four = _ours(message, users, relay.port, WORKERS)
        raw = _raw(flattened, relay.port)
        try:
            post_office = _post_office(message, users, relay.port)
        except Exception as error:
            post_office = f"{type(error).__name__}: {error}"
    rows = [
        Row(
            id="P8",
            what=f"{where} one worker (default settings) vs raw smtplib (one connection, one by one)",
            ours=_rate(count, one),
            baseline=_rate(count, raw),
            ratio=f"{raw / one:.1f}× faster",
            target="≥ 5× faster",
            met=raw / one >= 5,
            values={"ours": one, "baseline": raw},
        ),
    ]
    measured = not isinstance(post_office, str)
    tuned_as = f"{TUNED['BENCH_EMAIL_CONNECTIONS']} connections, {TUNED['BENCH_BATCH_SIZE']} a batch"
    for what, ours, target in (
        ("one worker (default: 4 connections, 100 a batch)", one, ""),
        (f"one worker tuned for the relay ({tuned_as})", tuned, "≥ 10× faster"),
    ):
        rows.append(
            Row(
                id="P8",
                what=f"{where} {what} vs post-office send_queued (one process)",
                ours=_rate(count, ours),
                baseline=_rate(count, post_office) if measured else f"not measured: {post_office}",
                ratio=f"{post_office / ours:.1f}× faster" if measured else "",
                target=target,
                met=(measured and post_office / ours >= 10) if target else None,
                values={"ours": ours, "baseline": post_office} if measured else None,
            )
        )
    rows.append(
        Row(
            id="P8",
            what=f"{where} {WORKERS} workers vs one worker",
            ours=_rate(count, four),
            baseline=_rate(count, one),
            ratio=f"{one / four:.2f}×",
            target="≥ 3.5×",
            met=one / four >= 3.5,
            values={"ours": four, "baseline": one},
        )
    )
    return rows
