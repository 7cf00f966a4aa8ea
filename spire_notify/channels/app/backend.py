"""The in-app inbox: a short body and a site-relative URL, stored on the notification itself."""

from spire_notify.backends.base import BaseNotificationBackend, Outcome, Rendered
from spire_notify.channels.app.models import AppNotification


class AppBackend(BaseNotificationBackend):
    """Delivers by writing: ``notify()`` stores the rendered row as ``sent`` in the caller's
    transaction, so it is in the inbox the moment that transaction commits, with no worker."""

    transmits = False
    needs_account = True
    tracks_reading = True
    detail_model = "spire_notify_app.AppNotification"

    def render(self, message, recipient):
        return Rendered(body=message.summary, url=message.path)

    def send_one(self, connection, delivery):
        # Only a row written pending (a deferred one) reaches a worker; recording it "sent"
        # is what puts it in the inbox, so there is nothing to transmit.
        return Outcome.success()

    def read_among(self, notification_pks, *, using="default"):
        return set(
            AppNotification.objects.using(using)
            .filter(notification_id__in=notification_pks, read_at__isnull=False)
            .values_list("notification_id", flat=True)
        )
