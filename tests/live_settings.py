"""Settings of the uvicorn subprocess that the live inbox's flood tests start
(tests/asgi_server.py, ``UvicornProcess``).

It opens the test process's PostgreSQL test database, named by SPIRE_LIVE_DB_NAME, under the
``application_name`` SPIRE_LIVE_APPLICATION_NAME, so that ``pg_stat_activity`` tells its
connections from the test's own. SPIRE_LIVE_POOL_SIZE turns on Django's connection pool of that size, as
production runs it; SPIRE_LIVE_MAX_STREAMS sets NOTIFY_LIVE_MAX_STREAMS_PER_USER.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

_pool_size = os.environ.get("SPIRE_LIVE_POOL_SIZE")
# A short pool timeout: a request that waits for a connection fails in 2 s instead of 30.
_pool = {"pool": {"min_size": 1, "max_size": int(_pool_size), "timeout": 2}} if _pool_size else {}

DATABASES = {
    "default": {
        **DATABASES["default"],
        "NAME": os.environ["SPIRE_LIVE_DB_NAME"],
        "OPTIONS": {"application_name": os.environ["SPIRE_LIVE_APPLICATION_NAME"], **_pool},
    }
}

NOTIFY_LIVE_UPDATES = True
if os.environ.get("SPIRE_LIVE_MAX_STREAMS"):
    NOTIFY_LIVE_MAX_STREAMS_PER_USER = int(os.environ["SPIRE_LIVE_MAX_STREAMS"])
