"""A soak with faults: ``python -m bench.soak --minutes N``.

For N minutes a writer process calls ``notify()`` at a steady rate (app + email to a few hundred
users), while worker processes (``process_notifications --loop``) deliver the email into an SMTP
sink that answers a share of messages with 4xx, drops connections before its reply, stalls, and
rejects a few with 5xx (``bench.faulty_sink``); at random moments the soak kills a worker with
SIGKILL and starts another. The workers reach the sink through a delaying proxy
(``bench.relay``, ``--one-way-ms`` each way), as they would a relay in another zone; a few
messages hang past the mailer's timeout. Then it stops writing, lets the workers drain, and checks from the
sink's ledger and the database that every row is settled, none lost, and any duplicate is one a
kill explains (``bench.soak_checks``), that the workers' memory stayed flat, and prints the
throughput per minute. It exits 1 if a check failed.

PostgreSQL by default (a database named by ``BENCH_PG_NAME``, default ``test_spire_soak``,
created and dropped); ``--db sqlite`` runs it on a SQLite file.
"""

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .faulty_sink import FaultShares, FaultySinkProcess
from .relay import RelayProcess
from .soak_workers import WorkerPool, worker_environment

USERS = 300
DIGEST_EVERY = 5  # every fifth user gets the soak's email as a digest
SETTINGS = "bench.soak_settings"
UNSETTLED = ["pending", "errored", "processing", "held"]


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10, help="how long the writer writes (default 10)")
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--workers", type=int, default=4, help="worker processes (default 4)")
    parser.add_argument("--rate", type=float, default=20, help="emails written a second (default 20)")
    parser.add_argument(
        "--kill-every", type=float, default=15, help="mean seconds between SIGKILLs; 0: none (default 15)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=50, help="rows a worker claims at a time (default 50)"
    )
    parser.add_argument("--drain-timeout", type=float, default=120, help="seconds to drain (default 120)")
    parser.add_argument(
        "--one-way-ms",
        type=float,
        default=12.5,
        help="the relay's delay each way, in ms; 0: the workers connect to the sink directly (default 12.5)",
    )
    parser.add_argument("--seed", type=int, default=0, help="of the kills and the sink's faults (default 0)")
    return parser.parse_args(argv)


def setup_database(engine, workdir):
    """A fresh database with the soak's users; returns the configured name (restored when it
    is dropped) and the new database's, for the other processes."""
    os.environ.update({"BENCH_DB": engine, "BENCH_WORKDIR": workdir, "DJANGO_SETTINGS_MODULE": SETTINGS})
    os.environ.setdefault("BENCH_PG_NAME", "test_spire_soak")
    import django

    django.setup()
    from django.db import connection

    from .population import make_users

    configured = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    choose_digests(make_users("soak", USERS))
    return configured, connection.settings_dict["NAME"]


def choose_digests(users):
    from spire_notify.models import NotificationPreference

    from .soak_writer import EVENT

    NotificationPreference.objects.bulk_create(
        NotificationPreference(user=user, type_key=EVENT, channel="email", mode="digest")
        for user in users[::DIGEST_EVERY]
    )


def unsettled_rows():
    """Email rows and digests still to deliver (held rows wait for their digest's window)."""
    from spire_notify.models import Digest, Notification

    rows = Notification.objects.filter(channel="email", status__in=UNSETTLED).count()
    return rows + Digest.objects.filter(status__in=UNSETTLED).count()


def drain(pool, timeout):
    """Seconds until no email row is left to deliver, or ``None`` after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        pool.sample_memory()
        if not unsettled_rows():
            return time.monotonic() - started
        time.sleep(1)
    return None


@contextlib.contextmanager
def relay_to(sink, options):
    """The port the workers send to: the delaying proxy's in front of ``sink``, or with
    ``--one-way-ms 0`` the sink's own."""
    if options.one_way_ms <= 0:
        yield sink.port
        return
    with RelayProcess(sink.port, options.one_way_ms / 1000) as relay:
        yield relay.port


def soak(options, workdir, database_name):
    environment = worker_environment(os.environ, settings=SETTINGS, database_name=database_name, smtp_port=0)
    rng = random.Random(options.seed)
    ledger_path = Path(workdir) / "ledger.tsv"
    with FaultySinkProcess(ledger_path, options.seed, FaultShares()) as sink, relay_to(sink, options) as port:
        environment["BENCH_SMTP_PORT"] = str(port)
        log_path = Path(workdir) / "workers.log"
        with WorkerPool(
            options.workers,
            batch_size=options.batch_size,
            environment=environment,
            log_path=log_path,
            rng=rng,
        ) as pool:
            started_at = time.time()
            writer = subprocess.Popen(
                [sys.executable, "-m", "bench.soak_writer", str(options.rate), str(options.seed)],
                env=environment,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            end = time.monotonic() + options.minutes * 60
            next_kill = time.monotonic() + rng.uniform(0.5, 1.5) * options.kill_every
            while (now := time.monotonic()) < end:
                pool.sample_memory()
                if options.kill_every > 0 and now >= next_kill:
                    pool.kill_one()
                    next_kill = now + rng.uniform(0.5, 1.5) * options.kill_every
                time.sleep(min(1.0, max(0.0, end - now)))
            writer.stdin.close()
            written = json.loads(writer.stdout.read() or "null")
            if writer.wait() or written is None:
                raise SystemExit(f"the writer exited with {writer.returncode}")
            drained = drain(pool, options.drain_timeout)
            crashed = pool.crashed()
    # Kept with the ledger, so that a failed check can be read again against the kills.
    (Path(workdir) / "kills.tsv").write_text("".join(f"{kill.pid}\t{kill.at:.6f}\n" for kill in pool.kills))
    return {
        "ledger_path": ledger_path,
        "started_at": started_at,
        "written": written,
        "drained": drained,
        "crashed": crashed,
        "kills": pool.kills,
        "samples": pool.samples,
    }


def report(options, run):
    from .soak_checks import find_duplicates, run_checks
    from .soak_ledger import Ledger
    from .soak_report import format_report, memory_windows, per_minute

    ledger = Ledger.read(run["ledger_path"])
    minutes = max(1, round(options.minutes))
    checks = run_checks(
        ledger=ledger,
        kills=run["kills"],
        written=run["written"]["emails"],
        drained=run["drained"],
        crashed=run["crashed"],
        memory=memory_windows(run["samples"], minutes),
        kill_every=options.kill_every,
    )
    of_rows = find_duplicates(ledger.acceptances_by_row()[0], run["kills"])
    of_digests = find_duplicates(ledger.acceptances_by_digest(), run["kills"])
    copies, after_hang = of_rows.copies + of_digests.copies, of_rows.after_hang + of_digests.after_hang
    duplicates_line = (
        f"Delivery is at least once: {of_rows.rows} rows and {of_digests.rows} digests were delivered more "
        f"than once ({copies} extra copies, at most one each), "
        f"{copies - after_hang} because the soak SIGKILLed the worker that "
        "handed the first copy over after the sink accepted it and before the worker recorded "
        f"the row, {after_hang} because the sink kept a message after a hang the "
        "worker had given up on; the copy carries the same Message-ID, so a receiver can drop it."
    )
    rows = per_minute(
        writer=run["written"],
        ledger=ledger,
        kills=run["kills"],
        samples=run["samples"],
        started_at=run["started_at"],
        minutes=minutes,
    )
    command = (
        f"python -m bench.soak --minutes {options.minutes:g} --db {options.db} --workers {options.workers} "
        f"--rate {options.rate:g} --kill-every {options.kill_every:g} --batch-size {options.batch_size} "
        f"--drain-timeout {options.drain_timeout:g} --one-way-ms {options.one_way_ms:g} --seed {options.seed}"
    )
    print(format_report(command=command, minute_rows=rows, checks=checks, duplicates_line=duplicates_line))
    return all(check.passed for check in checks)


def main(argv=None):
    options = parse(argv)
    if options.db == "postgres":
        from .__main__ import postgres_unreachable

        if reason := postgres_unreachable():
            print(f"PostgreSQL at 127.0.0.1:5432 is unreachable: {reason}", file=sys.stderr)
            return 2
    workdir = tempfile.mkdtemp(prefix="spire-soak-")
    configured_name, database_name = setup_database(options.db, workdir)
    from django.db import connection

    try:
        connection.close()  # the workers and the writer open their own
        passed = report(options, soak(options, workdir, database_name))
    finally:
        connection.creation.destroy_test_db(configured_name, verbosity=0)
    if passed:
        shutil.rmtree(workdir)
        return 0
    print(f"the ledger, the kills and the workers' log are kept in {workdir}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
