"""Django settings of a bench process.

The orchestrator starts one suite process per database; ``BENCH_DB`` picks the engine,
``BENCH_DB_NAME`` (set for helper processes such as the backlog drain) points at the database
the suite already created, and ``BENCH_SMTP_PORT`` at the SMTP sink.
"""

import os

from tests.settings import INSTALLED_APPS as TEST_APPS
from tests.settings import MIDDLEWARE, TEMPLATES  # noqa: F401  (the same pages as the tests)

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [*TEST_APPS, "post_office"]
SITE_ID = 1
STATIC_URL = "/static/"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

ENGINE = os.environ.get("BENCH_DB", "sqlite")
EXISTING_NAME = os.environ.get("BENCH_DB_NAME", "")

if ENGINE == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "PORT": 5432,
            "USER": os.environ.get("PGUSER", "postgres"),
            "NAME": EXISTING_NAME or "postgres",
            # BENCH_PG_NAME keeps concurrent runs (other checkouts, CI) out of each other's way.
            "TEST": {"NAME": os.environ.get("BENCH_PG_NAME", "test_spire_bench")},
        }
    }
else:
    # A file, not :memory:, so that a helper process sees the same database.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": EXISTING_NAME or os.path.join(os.environ.get("BENCH_WORKDIR", "."), "main.sqlite3"),
            "TEST": {"NAME": os.path.join(os.environ.get("BENCH_WORKDIR", "."), "bench.sqlite3")},
        }
    }

# Delivery is started by the bench itself, never by a commit.
TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}

SMTP_PORT = int(os.environ.get("BENCH_SMTP_PORT", "0"))
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": SMTP_PORT},
    },
    # The backlog drain (P5) measures the worker, not the SMTP link.
    "discard": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"},
}

ADMINS = []
DEFAULT_FROM_EMAIL = "helpdesk@example.com"
DEVELOPMENT_EMAIL = "dev-inbox@example.com"

# post-office as shipped, apart from sending through the same sink as spire-notify.
POST_OFFICE = {"DEFAULT_MAILER": "default"}

# P9's writer (this process) publishes live-inbox events to the streams of a uvicorn process
# through Redis; nothing publishes unless P9 turns NOTIFY_LIVE_UPDATES on.
EVENTSTREAM_REDIS = {"host": "127.0.0.1", "port": 6379, "db": 0}

LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "CRITICAL"}}

# P8 measures the email channel at its default connections and at a relay-sized number: the
# sender processes it starts read how many from here.
if os.environ.get("BENCH_EMAIL_CONNECTIONS"):
    NOTIFY_BACKENDS = {
        "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
        "email": {
            "BACKEND": "spire_notify.channels.email.backend.EmailBackend",
            "OPTIONS": {"connections": int(os.environ["BENCH_EMAIL_CONNECTIONS"])},
        },
    }
