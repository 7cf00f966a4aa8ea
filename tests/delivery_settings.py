"""Settings of worker subprocesses started by the delivery tests.

They share the test process's database, named by SPIRE_DELIVERY_DB_NAME (the PostgreSQL test
database, or a SQLite file), and reach the test's SMTP sink, Redis database and lease length
through the other SPIRE_DELIVERY_* variables.
"""

import os

from tests.mail_settings import smtp_settings
from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

DATABASES = {
    "default": {
        **DATABASES["default"],
        "NAME": os.environ["SPIRE_DELIVERY_DB_NAME"],
        **(
            {}
            if DATABASES["default"]["ENGINE"].endswith("postgresql")
            else {
                # Several processes write the same file: wait for the lock instead of failing,
                # and take it at BEGIN so that no transaction has to upgrade a read lock.
                "OPTIONS": {
                    "timeout": 30,
                    "transaction_mode": "IMMEDIATE",
                    "init_command": "PRAGMA journal_mode=WAL;",
                },
            }
        ),
    }
}

if os.environ.get("SPIRE_DELIVERY_SMTP_PORT"):
    _smtp_timeout = os.environ.get("SPIRE_DELIVERY_SMTP_TIMEOUT", "10")
    # MAILERS on Django 6.1, EMAIL_* before it. "none": the mailer sets no timeout, so the
    # email backend's own applies.
    globals().update(
        smtp_settings(
            int(os.environ["SPIRE_DELIVERY_SMTP_PORT"]),
            timeout=None if _smtp_timeout == "none" else float(_smtp_timeout),
        )
    )

if os.environ.get("SPIRE_DELIVERY_EMAIL_TIMEOUT"):
    NOTIFY_BACKENDS = {
        "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
        "email": {
            "BACKEND": "spire_notify.channels.email.backend.EmailBackend",
            "OPTIONS": {"timeout": float(os.environ["SPIRE_DELIVERY_EMAIL_TIMEOUT"])},
        },
    }

if os.environ.get("SPIRE_DELIVERY_PUSH_KEY"):
    # The app and email channels stay: the help desk's Notifiers send on them (spire_notify.E113).
    NOTIFY_BACKENDS = {
        "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
        "email": {"BACKEND": "spire_notify.channels.email.backend.EmailBackend"},
        "push": {
            "BACKEND": "spire_notify.channels.webpush.backend.WebPushBackend",
            "OPTIONS": {
                "vapid_private_key": os.environ["SPIRE_DELIVERY_PUSH_KEY"],
                "vapid_subject": "mailto:ops@example.com",
                "timeout": float(os.environ.get("SPIRE_DELIVERY_PUSH_TIMEOUT", 10)),
            },
        },
    }

if os.environ.get("SPIRE_DELIVERY_RATE_LIMIT"):
    # The email channel paced across every worker, through the store the test names.
    NOTIFY_BACKENDS = {
        "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
        "email": {
            "BACKEND": "spire_notify.channels.email.backend.EmailBackend",
            "OPTIONS": {"rate_limit": os.environ["SPIRE_DELIVERY_RATE_LIMIT"], "connections": 2},
        },
    }
    NOTIFY_RATE_LIMIT_STORE = os.environ.get("SPIRE_DELIVERY_RATE_LIMIT_STORE") or None

if os.environ.get("SPIRE_DELIVERY_DEADLINE_SECONDS"):
    NOTIFY_DELIVERY_DEADLINE_SECONDS = float(os.environ["SPIRE_DELIVERY_DEADLINE_SECONDS"])

NOTIFY_STOP_GRACE_SECONDS = float(os.environ.get("SPIRE_DELIVERY_STOP_GRACE_SECONDS", 10))
NOTIFY_LEASE_SECONDS = float(os.environ.get("SPIRE_DELIVERY_LEASE_SECONDS", 300))
NOTIFY_RETRY_BASE_DELAY = float(os.environ.get("SPIRE_DELIVERY_RETRY_BASE_DELAY", 60))

match os.environ.get("SPIRE_DELIVERY_TASKS"):
    case "db":
        TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    case "celery":
        TASKS = {"default": {"BACKEND": "spire_notify.contrib.celery.CeleryBackend"}}

CELERY_BROKER_URL = os.environ.get("SPIRE_DELIVERY_REDIS_URL", "redis://127.0.0.1:6379/13")
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("SPIRE_DELIVERY_CELERY_QUEUE", "celery")
CELERY_IMPORTS = ["spire_notify.contrib.celery"]
CELERY_BEAT_SCHEDULE = {
    "spire-notify-deliver": {"task": "spire_notify.deliver", "schedule": 1.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"spire_notify": {"handlers": ["stderr"], "level": "WARNING"}},
}

if os.environ.get("SPIRE_DELIVERY_CLOCK_OFFSET"):
    # A worker that lives later than the test: timing tests move time without waiting for it.
    from spire_notify import clock

    clock.advance(float(os.environ["SPIRE_DELIVERY_CLOCK_OFFSET"]))
