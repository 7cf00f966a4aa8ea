"""The in-app inbox: a short body and a site-relative URL, stored on the notification itself."""

from .base import BaseNotificationBackend, Outcome, Rendered


class AppBackend(BaseNotificationBackend):
    """Delivers by writing: ``notify()`` stores the rendered row as ``sent`` in the caller's
    transaction, so it is in the inbox the moment that transaction commits, with no worker."""

    transmits = False
    needs_account = True
    detail_model = "spire_notify.AppNotification"

    def render(self, message, recipient):
        return Rendered(body=message.summary, url=message.path)

    def send_one(self, connection, delivery):
        # Only a row written pending (a deferred one) reaches a worker; recording it "sent"
        # is what puts it in the inbox, so there is nothing to transmit.
        return Outcome.success()
