"""``notify()``: write the notifications of one message, and deliver them after commit."""

import logging
from collections import defaultdict

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from . import conf
from .handler import backends
from .message import Recipient
from .models import Notification

logger = logging.getLogger("spire_notify")


def recipient_for(user):
    return Recipient(
        user_id=user.pk,
        email=getattr(user, user.get_email_field_name(), "") or "",
        name=user.get_full_name() if hasattr(user, "get_full_name") else str(user),
    )


def notify(message, recipients, *, send_after=None, using=None):
    """Write one notification per (user, channel) and enqueue their delivery on commit.

    ``recipients`` maps each user to the ``NOTIFY_BACKENDS`` aliases that should reach them; a
    channel named twice for a user counts once, and a channel that cannot reach a user (email
    without an address) is skipped. The queries issued do not grow with the number of
    recipients: one insert per table. Runs inside the caller's transaction, so a rollback
    leaves nothing behind and sends nothing. Returns the saved notifications.
    """
    due = send_after or timezone.now()
    target_type, target_id = _target_key(message.target)
    payload = message.to_payload()
    planned = []
    for user, channels in recipients.items():
        recipient = recipient_for(user)
        for alias in dict.fromkeys(channels):
            backend = backends[alias]
            if backend.accepts(recipient):
                notification = Notification(
                    user=user,
                    channel=alias,
                    event=message.event,
                    title=message.title,
                    payload=payload,
                    content_type=target_type,
                    object_id=target_id,
                    send_after=due,
                    next_attempt_at=due,
                )
                planned.append((backend, notification, recipient))
    if not planned:
        return []
    with transaction.atomic(using=using):
        notifications = Notification.objects.using(using).bulk_create(
            [notification for _, notification, _ in planned]
        )
        _create_details(planned, using)
        transaction.on_commit(lambda: enqueue_delivery(due), using=using)
    return notifications


def _target_key(target):
    if target is None:
        return None, ""
    return ContentType.objects.get_for_model(target), str(target.pk)


def _create_details(planned, using):
    details_by_model = defaultdict(list)
    for backend, notification, recipient in planned:
        detail = backend.build_detail(notification, recipient)
        if detail is not None:
            details_by_model[type(detail)].append(detail)
    for model, details in details_by_model.items():
        model.objects.using(using).bulk_create(details)


def enqueue_delivery(run_after=None):
    """Ask the task backend to run delivery, at ``run_after`` where the backend can defer."""
    from .tasks import deliver_notifications

    task = deliver_notifications.using(backend=conf.get("NOTIFY_TASK_BACKEND"))
    if run_after is not None and run_after > timezone.now() and task.get_backend().supports_defer:
        task = task.using(run_after=run_after)
    try:
        return task.enqueue()
    except ImproperlyConfigured:
        raise
    except Exception:
        # The rows are safely pending: any worker run (loop, cron, a later task) delivers them.
        logger.exception("Could not enqueue notification delivery; rows stay pending.")
        return None
