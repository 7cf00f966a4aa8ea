"""The Celery app of the Celery test's worker, set up as the docs tell a project to."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.delivery_settings")

app = Celery("spire_notify_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
