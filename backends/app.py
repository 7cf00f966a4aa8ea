"""The in-app inbox: a short body and a site-relative URL, stored on the notification itself."""

from .base import BaseNotificationBackend, Outcome, Rendered


class AppBackend(BaseNotificationBackend):
    detail_model = "spire_notify.AppNotification"

    def build_detail(self, notification, recipient):
        from spire_notify.models import AppNotification

        return AppNotification(notification=notification)

    def render(self, message, recipient):
        return Rendered(body=message.summary, url=message.path)

    def send(self, deliveries):
        # Delivery writes body, url and status on the rows; that write is what puts a
        # notification in the user's inbox, so there is nothing else to transmit.
        return [Outcome.success() for _ in deliveries]
