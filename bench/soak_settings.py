"""Settings of the soak's writer and workers (``python -m bench.soak``): the bench's, with
short leases and retries so that a killed worker's rows and a refused message come round
again within a run of minutes, and email sent through the faulty sink by a mailer that names
its worker process.

``BENCH_SMTP_PORT`` is the faulty sink's port; ``BENCH_DB`` and ``BENCH_DB_NAME`` the database
the soak created.
"""

from bench.settings import *  # noqa: F403
from bench.settings import DATABASES, ENGINE, SMTP_PORT

# A killed worker's rows are free again 15 s after its last renewal; the sink's stalls (at
# most 3 s) stay well inside half of it, when the worker renews, so only a kill frees a row.
NOTIFY_LEASE_SECONDS = 15
# 1, 2, 4, 8, 8 s (with jitter): five attempts fit in the drain.
NOTIFY_RETRY_BASE_DELAY = 1
NOTIFY_RETRY_MAX_DELAY = 8
NOTIFY_MAX_ATTEMPTS = 5
# Digest windows of 20 s (from the epoch), not a day: a held row goes out within the run.
NOTIFY_DIGEST_INTERVAL = 20

MAILERS = {
    "default": {
        "BACKEND": "bench.soak_mailer.WorkerNamedSMTPBackend",
        # Longer than the sink's stalls (3 s) and the relay's round trips; shorter than its hangs
        # (bench.faulty_sink.HANG_SECONDS), which this timeout must cut short.
        "OPTIONS": {"host": "127.0.0.1", "port": SMTP_PORT, "timeout": 5},
    },
}

if ENGINE != "postgres":
    # Four workers and a writer share one SQLite file: wait for its lock rather than fail.
    DATABASES = {"default": {**DATABASES["default"], "OPTIONS": {"timeout": 30}}}
