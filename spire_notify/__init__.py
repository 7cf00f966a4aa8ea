"""spire-notify: channel-agnostic messages, delivered through swappable backends."""

from spire_notify.deferred import Deferred
from spire_notify.message import Message, Recipient


def notify(message, recipients, **kwargs):
    """Write the notifications of ``message`` and deliver them after commit.

    See ``spire_notify.dispatch.notify``; imported lazily because it needs the models.
    """
    from spire_notify.dispatch import notify as _notify

    return _notify(message, recipients, **kwargs)


__all__ = ["Deferred", "Message", "Recipient", "notify"]
