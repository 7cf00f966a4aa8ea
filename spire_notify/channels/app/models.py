"""What the in-app channel keeps beside each notification: whether and when it was read.

The inbox's verbs live here, on the queryset, as django-notifications-hq keeps them: the views
stay thin, and the core's ``Notification`` knows nothing of reading.
"""

from django.db import models

from spire_notify import clock
from spire_notify.store.models import Notification, NotificationStatus


def inbox_of(user):
    """The delivered in-app notifications of ``user``, as ``Notification`` rows."""
    return Notification.objects.filter(user=user, app__isnull=False, status=NotificationStatus.SENT)


def unread_among(notifications):
    """The unread ones of ``notifications`` (in-app ``Notification`` rows)."""
    return notifications.filter(app__read_at__isnull=True)


class AppNotificationQuerySet(models.QuerySet):
    def of(self, notifications):
        """The in-app rows of ``notifications`` (a ``Notification`` queryset)."""
        return self.filter(notification__in=notifications.values("pk"))

    def unread(self):
        return self.filter(read_at__isnull=True)

    def mark_read(self):
        """Mark these rows read, now; returns how many were unread."""
        return self.unread().update(read_at=clock.now())


class AppNotification(models.Model):
    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, related_name="app", primary_key=True
    )
    read_at = models.DateTimeField(null=True, blank=True)

    objects = AppNotificationQuerySet.as_manager()

    def __str__(self):
        return str(self.notification)
