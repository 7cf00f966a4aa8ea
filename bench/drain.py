"""Drain every pending notification once, then report time and peak RSS as JSON.

Run by P5 in a fresh process (``python -m bench.drain``) so that its peak RSS is the worker's
alone, not the seeding's. Email goes to a discarding mailer: this measures the worker.
"""

import json
import os
import resource
import time


def rss_mb(kind="VmHWM"):
    """Peak (VmHWM) or current (VmRSS) resident memory of this process, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(kind + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import override_settings

    from spire_notify.conf import DEFAULT_NOTIFY_BACKENDS
    from spire_notify.worker.process import process_notifications

    backends = {
        **DEFAULT_NOTIFY_BACKENDS,
        "email": {**DEFAULT_NOTIFY_BACKENDS["email"], "OPTIONS": {"mailer": "discard"}},
    }
    connection.ensure_connection()
    before = rss_mb("VmRSS")
    with override_settings(NOTIFY_BACKENDS=backends):
        start = time.perf_counter()
        counts = process_notifications()
        seconds = time.perf_counter() - start
    print(
        json.dumps({"seconds": seconds, "counts": counts, "rss_before_mb": before, "peak_rss_mb": rss_mb()})
    )


if __name__ == "__main__":
    main()
