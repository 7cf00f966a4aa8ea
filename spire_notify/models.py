"""The models of the ``spire_notify`` app, where Django looks for them: the store's.

Each channel's own rows (the inbox's read state, an email's address, a user's chat URLs) are
models of that channel's app (``spire_notify.channels.*``).
"""

from spire_notify.store.models import (
    ChannelPace,
    DeliveryMode,
    DestinationReceipt,
    Digest,
    Notification,
    NotificationPreference,
    NotificationStatus,
)

__all__ = [
    "ChannelPace",
    "DeliveryMode",
    "DestinationReceipt",
    "Digest",
    "Notification",
    "NotificationPreference",
    "NotificationStatus",
]
