"""Signals of delivery, sent with ``send_robust``: a receiver that raises is logged on the
``spire_notify`` logger and changes nothing about delivery."""

from django.dispatch import Signal

# Sent after a delivery is recorded as "sent", with ``notification``.
notification_sent = Signal()
# Sent when a notification is given up (status "failed"), with ``notification`` and ``error``.
notification_failed = Signal()
# Sent when a notification ends "skipped" (nothing sent, deliberately), with ``notification`` and
# ``reason``.
notification_skipped = Signal()
