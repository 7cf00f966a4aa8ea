"""The embedded default: a ticket's commit enqueues delivery with django-tasks-db, and
``manage.py db_worker`` in another process delivers it."""

import time

from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from spire_notify.models import Notification
from tests.support.delivery_harness import (
    SmtpSink,
    finish,
    free_port,
    manage,
    message_id,
    shared_db,
    worker_env,
)

__all__ = ["shared_db"]

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@override_settings(TASKS=DB_TASKS)
def test_db_worker_delivers_what_a_new_ticket_enqueued(shared_db, developer, manager, create_ticket):
    ticket = create_ticket()
    notifications = list(Notification.objects.filter(object_id=str(ticket.pk)))
    assert {(row.user.username, row.channel, row.status) for row in notifications} == {
        ("dev", "app", "sent"),
        ("dev", "email", "pending"),
        ("manager", "app", "sent"),
    }
    [enqueued] = DBTaskResult.objects.all()
    assert (enqueued.task_path, enqueued.status) == (
        "spire_notify.worker.tasks.deliver_notifications",
        "READY",
    )

    with SmtpSink() as sink:
        # --batch: run every task that is ready, then exit.
        finish(
            manage(
                "db_worker",
                "--batch",
                "--no-startup-delay",
                env=worker_env(shared_db, smtp_port=sink.port, tasks="db"),
            )
        )
    enqueued.refresh_from_db()
    assert (enqueued.status, enqueued.return_value) == (
        "SUCCESSFUL",
        {"sent": 1, "errored": 0, "failed": 0, "skipped": 0},
    )
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    email = next(row for row in notifications if row.channel == "email")
    assert sink.handler.received == [(message_id(email), developer.email)]


@override_settings(TASKS=DB_TASKS)
def test_a_run_that_errored_rows_enqueues_their_retry_for_when_they_are_due(
    shared_db, developer, create_ticket
):
    create_ticket()
    port = free_port()
    # The SMTP server is down for the first run; retries start after half a second to one second.
    env = worker_env(shared_db, smtp_port=port, tasks="db", retry_base_delay=1)
    finish(manage("db_worker", "--batch", "--no-startup-delay", env=env))
    email = Notification.objects.get(channel="email")
    assert (email.status, email.attempts) == ("errored", 1)
    first, retry = DBTaskResult.objects.order_by("enqueued_at")
    assert (first.status, first.return_value) == (
        "SUCCESSFUL",
        {"sent": 0, "errored": 1, "failed": 0, "skipped": 0},
    )
    assert (retry.status, retry.run_after) == ("READY", email.next_attempt_at)

    with SmtpSink(port=port) as sink:
        time.sleep(max(0.0, (retry.run_after - timezone.now()).total_seconds()) + 0.1)
        finish(manage("db_worker", "--batch", "--no-startup-delay", env=env))
    retry.refresh_from_db()
    assert (retry.status, retry.return_value) == (
        "SUCCESSFUL",
        {"sent": 1, "errored": 0, "failed": 0, "skipped": 0},
    )
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 2)
    assert sink.handler.received == [(message_id(email), developer.email)]
    # Nothing errored any more: no further task was enqueued.
    assert DBTaskResult.objects.count() == 2
