"""Settings of the test suite.

SPIRE_TEST_DB=postgres runs it on the PostgreSQL server at 127.0.0.1:5432 (set
SPIRE_TEST_PG_NAME to keep concurrent runs apart); anything else uses SQLite.
"""

import os
from pathlib import Path

import django

from spire_notify.compat import HAS_MAILERS, TASKS_MODULE

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
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
ROOT_URLCONF = "tests.urls"

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

if os.environ.get("SPIRE_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "PORT": 5432,
            "USER": os.environ.get("PGUSER", "postgres"),
            "NAME": "postgres",
            "TEST": {"NAME": os.environ.get("SPIRE_TEST_PG_NAME", "test_spire_notify")},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "test.sqlite3",
            "TEST": {"NAME": os.environ.get("SPIRE_TEST_SQLITE_NAME") or None},
        }
    }

# Delivery runs in-process when a transaction commits; tests of the real worker configure
# django-tasks-db themselves.
TASKS = {"default": {"BACKEND": f"{TASKS_MODULE}.backends.immediate.ImmediateBackend"}}
if HAS_MAILERS:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Django 6.0 lists addresses; 5.2's own error emails (mail_admins) need (name, address) pairs.
ADMINS = ["dev@example.com"] if django.VERSION >= (6, 0) else [("Dev", "dev@example.com")]
DEFAULT_FROM_EMAIL = "helpdesk@example.com"
DEVELOPMENT_EMAIL = "dev-inbox@example.com"

# Users' Apprise URLs and push endpoints may reach public addresses only; every channel test
# talks to servers it starts on loopback, so the suite opts loopback in. The SSRF tests set it
# back to [] to show what the default refuses.
NOTIFY_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8", "::1/128"]

STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
