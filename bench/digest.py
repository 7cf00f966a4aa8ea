"""Digests: 1,000 users x 20 held items each, sent as one digest per user; time and peak RSS.

``python -m bench.digest`` (``--db postgres``, ``--users``, ``--items`` to change it) seeds the
held items through ``notify()``, then runs one ``process_notifications()`` in a fresh process
whose clock is a day ahead (``--drain``, so that its peak RSS is the worker's alone), sending
through a local SMTP sink (``bench.smtp_sink``). Prints one table row and the JSON of it.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

TYPE = "bench.digest"
DAY = 86400


def seed(users, items):
    from django.contrib.auth import get_user_model

    from spire_notify import Message, notify
    from spire_notify.models import Notification, NotificationPreference

    user_model = get_user_model()
    people = user_model.objects.bulk_create(
        [user_model(username=f"digest{i}", email=f"digest{i}@example.net") for i in range(users)]
    )
    NotificationPreference.objects.bulk_create(
        [NotificationPreference(user=user, type_key=TYPE, channel="email", mode="digest") for user in people]
    )
    recipients = {user: ["email"] for user in people}
    for number in range(items):
        notify(Message(event=TYPE, title=f"Order #{number}", body="Paid", path=f"/o/{number}/"), recipients)
    return Notification.objects.filter(status="held").count()


def drain():
    """In the measured process: deliver every digest due a day from now."""
    from bench.drain import rss_mb
    from spire_notify import clock
    from spire_notify.models import Digest, Notification
    from spire_notify.worker.process import process_notifications

    clock.advance(DAY)
    start = time.perf_counter()
    counts = process_notifications()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_rss_mb": rss_mb(),
        "items_sent": counts.get("sent", 0),
        "digests_sent": Digest.objects.filter(status="sent").count(),
        "left_held": Notification.objects.filter(status="held").count(),
    }


def setup_django(engine, workdir):
    os.environ["BENCH_DB"] = engine
    os.environ["BENCH_WORKDIR"] = workdir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from spire_notify import notification_types

    notification_types.register(TYPE, name="Orders", default_channels=["email"])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.digest", description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--drain", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.drain:
        setup_django(options.db, os.environ["BENCH_WORKDIR"])
        print(json.dumps(drain()))
        return
    workdir = tempfile.mkdtemp(prefix="spire-bench-digest-")
    setup_django(options.db, workdir)
    from django.db import connection

    from .measure import Row

    original_name = connection.settings_dict["NAME"]
    # A database of its own: the suite's test_spire_bench may be in use by a run of python -m bench.
    if options.db == "postgres":
        connection.settings_dict["TEST"]["NAME"] = "test_spire_bench_digest"
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.smtp_sink"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        held = seed(options.users, options.items)
        env = {
            **os.environ,
            "BENCH_DB_NAME": str(test_name),
            "BENCH_SMTP_PORT": sink.stdout.readline().strip(),
        }
        measured = subprocess.run(
            [sys.executable, "-m", "bench.digest", "--drain", "--db", options.db],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(measured.stdout.strip().splitlines()[-1])
    finally:
        sink.stdin.close()
        sink.wait(timeout=30)
        connection.creation.destroy_test_db(original_name, verbosity=0)
    assert (
        result["items_sent"] == held and result["digests_sent"] == options.users and not result["left_held"]
    )
    row = Row(
        id="D1",
        what=f"digest: {options.users:,} users x {options.items} items ({options.db}), one worker, SMTP sink",
        ours=f"{result['seconds']:.2f} s, peak RSS {result['peak_rss_mb']:.0f} MB",
        values=result,
    )
    print(f"| {row.id} | {row.what} | {row.ours} |")
    print(json.dumps(row.as_dict()))


if __name__ == "__main__":
    main()
