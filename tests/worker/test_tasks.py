"""The delivery task: enqueued when rows are written, unless a periodic worker delivers instead
(``NOTIFY_ENQUEUE_DELIVERY = False``), so that django-tasks-db keeps no tasks nobody runs."""

import pytest
from django.core import mail
from django.core.checks import run_checks
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from spire_notify.models import Notification
from spire_notify.worker.process import process_notifications

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

pytestmark = pytest.mark.django_db


@override_settings(TASKS=DB_TASKS)
def test_by_default_a_commit_enqueues_delivery(developer, create_and_deliver):
    create_and_deliver()
    assert list(DBTaskResult.objects.values_list("task_path", "status")) == [
        ("spire_notify.worker.tasks.deliver_notifications", "READY")
    ]


@override_settings(TASKS=DB_TASKS, NOTIFY_ENQUEUE_DELIVERY=False)
def test_with_enqueueing_off_nothing_is_enqueued_and_the_worker_delivers(developer, create_and_deliver):
    create_and_deliver()
    assert DBTaskResult.objects.count() == 0
    assert Notification.objects.get(channel="email").status == "pending"

    assert process_notifications() == {"sent": 1, "errored": 0, "failed": 0, "skipped": 0}
    assert Notification.objects.get(channel="email").status == "sent"
    assert [email.to for email in mail.outbox] == [[developer.email]]
    assert DBTaskResult.objects.count() == 0


@override_settings(NOTIFY_ENQUEUE_DELIVERY=False, NOTIFY_TASK_BACKEND="nowhere")
def test_with_enqueueing_off_the_task_backend_is_not_checked():
    assert [message.id for message in run_checks() if message.id.startswith("spire_notify.E08")] == []
