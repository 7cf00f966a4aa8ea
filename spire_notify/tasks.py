"""The ``django.tasks`` task that delivers notifications in the background."""

from django.tasks import task

from .automations import process_notifications


@task()
def deliver_notifications():
    """Deliver everything that is ready; the counts are the task's result."""
    return process_notifications()
