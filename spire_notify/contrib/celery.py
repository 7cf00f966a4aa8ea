"""Celery integration, for teams that outgrow one machine (``pip install spire-notify[celery]``).

Three pieces, each usable alone:

- ``deliver_notifications``: the delivery function as a Celery task (``spire_notify.deliver``).
- periodic pickup: a beat schedule entry for ``spire_notify.deliver`` (see docs/automations.md),
  so that retries and scheduled notifications go out even when nothing new is enqueued.
- ``CeleryBackend``: a ``django.tasks`` backend that hands tasks to Celery, so that the
  delivery enqueued on commit runs on a Celery worker:
  ``TASKS = {"default": {"BACKEND": "spire_notify.contrib.celery.CeleryBackend"}}``.

Workers import this module through Celery's ``imports`` setting (``CELERY_IMPORTS`` with the
usual Django namespace).
"""

import uuid

from celery import shared_task
from django.utils import timezone
from django.utils.module_loading import import_string

from spire_notify.compat import (
    DEFAULT_TASK_QUEUE_NAME,
    BaseTaskBackend,
    TaskResult,
    TaskResultStatus,
    task_enqueued,
)
from spire_notify.worker.process import process_notifications

DELIVER_TASK = "spire_notify.deliver"
RUN_DJANGO_TASK = "spire_notify.run_django_task"


@shared_task(name=DELIVER_TASK, ignore_result=True)
def deliver_notifications(batch_size=None):
    """Deliver everything that is ready; several workers may run it at once safely."""
    return process_notifications(batch_size=batch_size)


@shared_task(name=RUN_DJANGO_TASK, ignore_result=True)
def run_django_task(module_path, args, kwargs):
    """Run a ``django.tasks`` task by its dotted path, as the Celery side of ``CeleryBackend``."""
    return import_string(module_path).call(*args, **kwargs)


class CeleryBackend(BaseTaskBackend):
    """Enqueues ``django.tasks`` tasks on Celery.

    ``run_after`` becomes Celery's ``eta`` and a ``queue_name`` other than "default" its queue. Results stay
    in Celery (``supports_get_result`` is False): spire-notify records the outcome of delivery
    on each notification row, not in a task result.
    """

    supports_defer = True

    def enqueue(self, task, args, kwargs):
        self.validate_task(task)
        task_id = str(uuid.uuid4())
        run_django_task.apply_async(
            args=(task.module_path, list(args), dict(kwargs)),
            task_id=task_id,
            eta=task.run_after,
            # django.tasks' "default" queue is Celery's default queue, whatever it is called.
            queue=None if task.queue_name == DEFAULT_TASK_QUEUE_NAME else task.queue_name,
        )
        result = TaskResult(
            task=task,
            id=task_id,
            status=TaskResultStatus.READY,
            enqueued_at=timezone.now(),
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        task_enqueued.send(type(self), task_result=result)
        return result
