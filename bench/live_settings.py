"""Settings of the uvicorn process that P9 serves its live-inbox streams from (``bench.streams``).

The bench's own settings, on the database the suite created (``BENCH_DB_NAME``), with live
updates on, as a production site runs them: events written by another process (the bench's
writer) come in through Redis, and PostgreSQL is reached through Django's connection pool, so
that 1,000 streams opening never take more than its few connections.
"""

from bench.settings import *  # noqa: F403
from bench.settings import DATABASES, ENGINE

NOTIFY_LIVE_UPDATES = True

if ENGINE == "postgres":
    DATABASES = {
        "default": {
            **DATABASES["default"],
            "OPTIONS": {"pool": {"min_size": 1, "max_size": 8, "timeout": 30}},
        }
    }
