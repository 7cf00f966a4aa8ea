"""The task that delivers notifications in the background (``django.tasks``, or its backport on
Django 5.2: see ``spire_notify.compat``)."""

from django.db.models import Min

from spire_notify import conf
from spire_notify.automations import process_notifications
from spire_notify.compat import task, task_backends
from spire_notify.dispatch import enqueue_delivery
from spire_notify.models import Notification, NotificationStatus


@task()
def deliver_notifications():
    """Deliver everything that is ready; the counts are the task's result.

    A run that left rows ``errored`` enqueues the next run for when the first of them is due,
    so that retries go out with nothing but a task worker (``db_worker``) running. Only such
    runs do: the many runs that find nothing to do enqueue nothing, so the follow-ups of one
    outage converge on a single task.
    """
    counts = process_notifications()
    if counts["errored"]:
        schedule_retry()
    return counts


def schedule_retry():
    """Enqueue delivery for when the first errored row is due, if the task backend can defer."""
    if not task_backends[conf.get("NOTIFY_TASK_BACKEND")].supports_defer:
        # Run now, it would find nothing due; periodic runs (cron, --loop, beat) retry instead.
        return None
    due = Notification.objects.filter(status=NotificationStatus.ERRORED).aggregate(
        due=Min("next_attempt_at")
    )["due"]
    return None if due is None else enqueue_delivery(run_after=due)
