"""The embedded default: a ticket's commit enqueues delivery with django-tasks-db, and
``manage.py db_worker`` in another process delivers it."""

from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from spire_notify.models import Notification
from tests.delivery_harness import SmtpSink, finish, manage, message_id, shared_db, worker_env

__all__ = ["shared_db"]

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@override_settings(TASKS=DB_TASKS)
def test_db_worker_delivers_what_a_new_ticket_enqueued(shared_db, developer, manager, create_ticket):
    ticket = create_ticket()
    notifications = list(Notification.objects.filter(object_id=str(ticket.pk)))
    assert {(row.user.username, row.channel, row.status) for row in notifications} == {
        ("dev", "app", "pending"), ("dev", "email", "pending"), ("manager", "app", "pending"),
    }
    [enqueued] = DBTaskResult.objects.all()
    assert (enqueued.task_path, enqueued.status) == ("spire_notify.tasks.deliver_notifications", "READY")

    with SmtpSink() as sink:
        # --batch: run every task that is ready, then exit.
        finish(manage(
            "db_worker", "--batch", "--no-startup-delay",
            env=worker_env(shared_db, smtp_port=sink.port, tasks="db"),
        ))
    enqueued.refresh_from_db()
    assert (enqueued.status, enqueued.return_value) == ("SUCCESSFUL", {"sent": 3, "errored": 0, "failed": 0})
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    email = next(row for row in notifications if row.channel == "email")
    assert sink.handler.received == [(message_id(email), developer.email)]
