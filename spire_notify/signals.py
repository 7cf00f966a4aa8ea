from django.dispatch import Signal

# Sent after a delivery is recorded, with ``notification``. Receivers run through
# send_robust: one that raises is logged and does not affect delivery.
notification_sent = Signal()
# Sent when a notification is given up (status "failed"), with ``notification`` and ``error``.
notification_failed = Signal()
