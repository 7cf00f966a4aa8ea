"""For tests: keeps every delivery in memory, like Django's locmem email backend."""

from spire_notify.backends.base import BaseNotificationBackend, Outcome, Rendered

# Each item is (alias, notification id, Rendered), in delivery order. Tests clear it.
outbox = []


class LocMemBackend(BaseNotificationBackend):
    def render(self, message, recipient):
        return Rendered(body=message.summary, url=message.path, content=message.title)

    def send_one(self, connection, delivery):
        outbox.append((self.alias, delivery.notification.pk, delivery.rendered))
        return Outcome.success()
