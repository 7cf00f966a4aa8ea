"""Settings of the demo site: SQLite, django-tasks-db's worker, a local SMTP catcher."""

import os
from pathlib import Path

from spire_notify.compat import HAS_MAILERS

DATA_DIR = Path(os.environ.get("SPIRE_DEMO_DIR", "demo-data")).resolve()
MAILBOX_DIR = DATA_DIR / "mailbox"

SECRET_KEY = "demo-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django_tasks_db",
    "spire_notify",
    "spire_notify.channels.app",
    "spire_notify.channels.email",
    "spire_notify.channels.apprise",
    "spire_notify.channels.webpush",
    "spire_notify.channels.live",
    "spire_notify.channels.webhook",
    "spire_notify.helpdesk",
    "demo",
]
SITE_ID = 1

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "demo.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        "APP_DIRS": True,
        # The email templates translate with {% trans %}: Django's gettext in Jinja2.
        "OPTIONS": {"environment": "spire_notify.jinja2_env.environment"},
    },
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "demo.sqlite3",
        # The web server and the worker write to one file: wait for each other's writes.
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
SMTP_PORT = int(os.environ.get("SPIRE_DEMO_SMTP_PORT", "1025"))
# A timeout, as every SMTP mailer should have: Django's default waits forever on a silent server.
SMTP_TIMEOUT = 10
if HAS_MAILERS:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": SMTP_PORT, "timeout": SMTP_TIMEOUT},
        }
    }
else:  # Django 5.2 and 6.0
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = "127.0.0.1"
    EMAIL_PORT = SMTP_PORT
    EMAIL_TIMEOUT = SMTP_TIMEOUT

NOTIFY_BACKENDS = {
    "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
    # The demo server speaks plain HTTP; production keeps the default, https.
    "email": {"BACKEND": "spire_notify.channels.email.backend.EmailBackend", "OPTIONS": {"protocol": "http"}},
}

# The badge and the inbox follow server-sent events: no polling (docs/live-inbox.md).
NOTIFY_LIVE_UPDATES = True
# The one uvicorn process writes every in-app notification (db_worker delivers email, which is
# not live), so no Redis relays events between processes.
SILENCED_SYSTEM_CHECKS = ["spire_notify.W070"]

ADMINS = ["developer@example.com"]
DEFAULT_FROM_EMAIL = "helpdesk@example.com"
# DEBUG is on, so every email goes here instead; the demo mailbox shows it.
DEVELOPMENT_EMAIL = "dev-inbox@example.com"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/notifications/"
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
