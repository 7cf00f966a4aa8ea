"""One sender of P8 in a process of its own: ``python -m bench.relay_sender ours|post_office``.

Started by ``bench.latency`` with ``BENCH_DB_NAME`` (the suite's database) and
``BENCH_SMTP_PORT`` (the relay, so the default mailer sends through it). It sets Django up,
prints ``ready``, waits for ``go`` on stdin, delivers everything pending (ours: one
``process_notifications()`` with default settings; post-office: ``send_queued()`` in one
process until the queue is empty) and prints one JSON line: start, end (``time.monotonic``,
comparable between processes) and what was sent.
"""

import json
import logging
import os
import sys
import time


def main():
    side = sys.argv[1]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.db import connection

    connection.ensure_connection()
    if side == "ours":
        from spire_notify.worker.process import process_notifications

        # P8's tuned row: a relay-sized batch (the connections are bench.settings' reading).
        tuned = (
            {"batch_size": int(os.environ["BENCH_BATCH_SIZE"])} if os.environ.get("BENCH_BATCH_SIZE") else {}
        )

        def run():
            return process_notifications(**tuned)["sent"]
    else:
        from post_office import mail

        logging.getLogger("post_office").setLevel(logging.WARNING)

        def run():
            sent = 0
            while any(result := mail.send_queued(processes=1)):
                sent += result[0]
            return sent

    print("ready", flush=True)
    sys.stdin.readline()
    start = time.monotonic()
    sent = run()
    end = time.monotonic()
    print(json.dumps({"start": start, "end": end, "sent": sent}), flush=True)


if __name__ == "__main__":
    main()
