"""P5: draining a backlog of pending notifications, in a fresh worker process."""

import json
import os
import subprocess
import sys

from django.db import connection

from . import population
from .measure import Row


def drain_in_subprocess():
    environment = {**os.environ, "BENCH_DB_NAME": connection.settings_dict["NAME"]}
    connection.close()  # SQLite: leave the file to the worker.
    finished = subprocess.run(
        [sys.executable, "-m", "bench.drain"], env=environment, capture_output=True, text=True, check=False
    )
    if finished.returncode:
        raise RuntimeError(f"bench.drain failed: {finished.stderr.strip().splitlines()[-1:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def p5_backlog(sizes):
    results = {}
    for size in sizes:
        # Each drain starts from a table in the state autovacuum keeps it in on a production
        # server (this one runs none): no dead rows of earlier benchmarks, statistics up to
        # date. The drain's own dead rows stay, as they would between autovacuum's visits.
        population.wipe_notifications()
        written = population.pending_backlog(size)
        population.analyze_notifications()
        results[size] = drain_in_subprocess()
        sent = results[size]["counts"].get("sent", 0)
        assert sent == written, f"P5 drained {results[size]['counts']} of {written}"
    population.wipe_notifications()
    rows = [
        Row(
            id="P5",
            what=f"drain {size:,} pending (half app, half email) in a fresh worker",
            ours=f"{result['peak_rss_mb']:.0f} MB peak RSS",
            baseline=f"{result['rss_before_mb']:.0f} MB at start",
            ratio=f"{result['seconds']:.1f} s ({size / result['seconds']:,.0f}/s)",
            target="≤ 150 MB",
            met=result["peak_rss_mb"] <= 150,
            values=result,
        )
        for size, result in results.items()
    ]
    if len(sizes) > 1:
        small, large = sizes[-2], sizes[-1]
        growth = (results[large]["seconds"] / large) / (results[small]["seconds"] / small)
        rows.append(
            Row(
                id="P5",
                what=f"time per notification, {large:,} vs {small:,} backlog",
                ours=f"{results[large]['seconds'] / large * 1e6:.0f} µs",
                baseline=f"{results[small]['seconds'] / small * 1e6:.0f} µs",
                ratio=f"{growth:.2f}×",
                target="linear (≤ 1.25×)",
                met=growth <= 1.25,
                values={"ours": results[large]["seconds"], "baseline": results[small]["seconds"]},
            )
        )
    return rows
