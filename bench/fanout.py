"""P7: notifying a whole audience (a ``QuerySet`` of users) on the app and email channels.

Ours and the bare limit run in a fresh process (``python -m bench.fanout_run``), so that its peak
RSS is the write's alone; notifications-hq runs in its own virtualenv, at most at
``HQ_LIMIT`` users, and is scaled linearly to the audience (its cost is one commit per row).
"""

import json
import os
import subprocess
import sys

from django.db import connection

from . import population
from .measure import Row
from .peers import NotificationsHq, PeerUnavailable

HQ_LIMIT = 10_000
# Ours against the bare INSERT … SELECT of the same rows, at the largest audience.
BARE_TARGET = 1.3


def run_in_subprocess(prefix, rounds):
    environment = {**os.environ, "BENCH_DB_NAME": connection.settings_dict["NAME"]}
    connection.close()  # SQLite: leave the file to the writer.
    finished = subprocess.run(
        [sys.executable, "-m", "bench.fanout_run", prefix, str(rounds)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode:
        raise RuntimeError(f"bench.fanout_run failed: {finished.stderr.strip().splitlines()[-3:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def hq_seconds(engine, hq_database, size):
    """notifications-hq's ``notify.send`` in autocommit, at ``min(size, HQ_LIMIT)`` users, scaled."""
    measured = min(size, HQ_LIMIT)
    hq = NotificationsHq(engine, hq_database)
    try:
        hq.setup(measured)
        seconds = hq.run("autocommit")["seconds"]
    finally:
        hq.close()
    return seconds * size / measured, measured


def p7_fanout(sizes, rounds, *, engine, hq_database):
    results = {}
    for size in sizes:
        prefix = f"p7-{size}-"
        population.make_users(prefix, size, chunk=10_000)
        results[size] = run_in_subprocess(prefix, rounds)
    largest = sizes[-1]
    try:
        hq, hq_measured = hq_seconds(engine, hq_database, largest)
        hq_note = f"measured at {hq_measured:,}, scaled" if hq_measured < largest else ""
    except PeerUnavailable as error:
        hq, hq_note = None, str(error)
    rows = fanout_rows(results)
    result = results[largest]
    if hq is not None:
        rows.append(
            Row(
                id="P7",
                what=f"notify a {largest:,}-user QuerySet vs notifications-hq notify.send (autocommit"
                + (f", {hq_note})" if hq_note else ")"),
                ours=f"{result['ours']:.2f} s",
                baseline=f"{hq:.1f} s",
                ratio=f"{hq / result['ours']:.0f}× faster",
                # Retired as a target (issue 21): a bare INSERT … SELECT of our four rows per
                # recipient is itself only 13–20× notifications-hq on PostgreSQL.
                target="(reference)",
                values={"ours": result["ours"], "baseline": hq, "hq_measured": hq_measured},
            )
        )
    else:
        rows.append(Row(id="P7", what="vs notifications-hq", ours="", baseline="unavailable", ratio=hq_note))
    return rows


def fanout_rows(results):
    """P7's rows of ``{audience size: fanout_run's result}``: each size against the bare limit,
    the largest one's target, and its peak RSS."""
    largest = max(results)
    rows = []
    for size, result in sorted(results.items()):
        ours, bare = result["ours"], result["bare"]
        rows.append(
            Row(
                id="P7",
                what=f"notify a {size:,}-user QuerySet on app + email ({2 * size:,} rows + details) vs bare "
                "INSERT … SELECT",
                ours=f"{ours:.2f} s",
                baseline=f"{bare:.2f} s",
                ratio=f"{ours / bare:.2f}×",
                # The target is the largest audience's (issue 21); the others draw the chart.
                target=f"≤ {BARE_TARGET}×" if size == largest else "(chart)",
                met=ours / bare <= BARE_TARGET if size == largest else None,
                values=result,
            )
        )
    result = results[largest]
    growth = result["peak_rss_mb"] - result["rss_before_mb"]
    rows.append(
        Row(
            id="P7",
            what=f"peak RSS of notifying a {largest:,}-user QuerySet, over the process's baseline",
            ours=f"+{growth:.1f} MB",
            baseline=f"{result['rss_before_mb']:.0f} MB at start",
            ratio=f"{result['peak_rss_mb']:.0f} MB peak",
            target="≤ +30 MB",
            met=growth <= 30,
            values={"growth_mb": growth, **result},
        )
    )
    return rows
