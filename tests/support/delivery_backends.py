"""Backends of the delivery tests: one that breaks on chosen rows, one that follows a script."""

from spire_notify.backends.base import BaseNotificationBackend, Outcome, Rendered, always_send


class FlakyBackend(BaseNotificationBackend):
    """Raises from render() for recipients named "render-boom" and from send() for batches
    holding a recipient named "send-boom": the contract's "never raise", broken on purpose."""

    def render(self, message, recipient):
        if recipient.name == "render-boom":
            raise ValueError(f"cannot render for user {recipient.user_id}")
        return Rendered(body=message.summary, url=message.path, content=recipient.name)

    def send(self, deliveries, *, guard=always_send):
        if any(delivery.rendered.content == "send-boom" for delivery in deliveries):
            raise RuntimeError("the transport fell over")
        return [Outcome.success() for _ in deliveries]


class ScriptedBackend(BaseNotificationBackend):
    """Answers every delivery with ``ScriptedBackend.outcome``: "sent", "temporary",
    "permanent" or "raise"; ``sent`` lists the notification ids in the order they were sent."""

    outcome = "sent"
    sent = []

    def render(self, message, recipient):
        return Rendered(body=message.summary, url=message.path)

    def send(self, deliveries, *, guard=always_send):
        match type(self).outcome:
            case "raise":
                raise OSError("scripted crash")
            case "sent":
                type(self).sent.extend(delivery.notification.pk for delivery in deliveries)
                return [Outcome.success() for _ in deliveries]
            case "temporary":
                return [Outcome.temporary("451 scripted: try later") for _ in deliveries]
            case "permanent":
                return [Outcome.permanent_failure("550 scripted: no such user") for _ in deliveries]


class TakenOverDuringSendBackend(BaseNotificationBackend):
    """Sends everything, but while it does, another worker takes over the first row (its lease
    ran out during a very slow send)."""

    def render(self, message, recipient):
        return Rendered(body=message.summary, url=message.path)

    def open(self):
        return {"first": True}

    def send_one(self, connection, delivery):
        from spire_notify.models import Notification

        if connection.pop("first", False):
            Notification.objects.filter(pk=delivery.notification.pk).update(claimed_by="another-worker")
        return Outcome.success()


class RevokedKeyBackend(BaseNotificationBackend):
    """Passes validate() but learns at send time that its configuration is no good, as an API
    backend does when its key has been revoked."""

    def render(self, message, recipient):
        return Rendered(body=message.summary, url=message.path)

    def open(self):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"The API key of {self.alias!r} was revoked.")
