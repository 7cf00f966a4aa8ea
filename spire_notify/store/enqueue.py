"""Asking for delivery: ``request_delivery()`` says that a worker has work, now or at ``run_after``.

The store does not know who delivers. The worker's task module (``spire_notify.worker.tasks``,
imported when the app is ready) answers ``delivery_requested`` by enqueueing its task with the
task framework; so the write side, the preferences and the admin ask for delivery without
importing the worker, and the worker imports none of them.
"""

from functools import partial

from django.db import transaction
from django.dispatch import Signal

from spire_notify.store.models import Notification

# Sent with ``run_after`` (``None``: now) whenever rows wait for a worker.
delivery_requested = Signal()


def request_delivery(run_after=None):
    """Ask for a delivery run at ``run_after`` (now by default)."""
    delivery_requested.send(sender=Notification, run_after=run_after)


def request_delivery_on_commit(run_after=None, *, using=None):
    """``request_delivery(run_after)`` once the current transaction commits: a rollback asks
    for nothing."""
    transaction.on_commit(partial(request_delivery, run_after), using=using)
