"""The signals a project connects to: ``notification_sent``, ``notification_failed``,
``notification_skipped``, ``notifications_sent`` and ``notifications_read``, sent with
``send_robust`` (the store defines them: ``spire_notify.store.signals``)."""

from spire_notify.store.signals import (
    notification_failed,
    notification_sent,
    notification_skipped,
    notifications_read,
    notifications_sent,
)

__all__ = [
    "notification_failed",
    "notification_sent",
    "notification_skipped",
    "notifications_read",
    "notifications_sent",
]
