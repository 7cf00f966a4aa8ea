"""The task that delivers notifications in the background (``django.tasks``, or its backport on
Django 5.2: see ``spire_notify.compat``)."""

import logging

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Min
from django.dispatch import receiver

from spire_notify import clock, conf
from spire_notify.compat import task, task_backends
from spire_notify.store.enqueue import delivery_requested
from spire_notify.store.models import Notification, NotificationStatus
from spire_notify.worker.process import process_notifications

logger = logging.getLogger("spire_notify")


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


def enqueue_delivery(run_after=None):
    """Ask the task backend to run delivery, at ``run_after`` where the backend can defer;
    nothing when ``NOTIFY_ENQUEUE_DELIVERY`` is off (a periodic worker delivers instead)."""
    if not conf.get("NOTIFY_ENQUEUE_DELIVERY"):
        return None
    task = deliver_notifications.using(backend=conf.get("NOTIFY_TASK_BACKEND"))
    if run_after is not None and run_after > clock.now() and task.get_backend().supports_defer:
        task = task.using(run_after=run_after)
    try:
        return task.enqueue()
    except ImproperlyConfigured:
        raise
    except Exception:
        # The rows are safely pending: any worker run (loop, cron, a later task) delivers them.
        logger.exception("Could not enqueue notification delivery; rows stay pending.")
        return None


@receiver(delivery_requested)
def _enqueue_requested_delivery(*, run_after, **kwargs):
    enqueue_delivery(run_after)
