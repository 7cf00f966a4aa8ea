"""The statuses of a row and the delivery modes of a preference: plain choices, importable before
the app registry is ready (the notification types read them when they register)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    SENT = "sent", "Sent"
    ERRORED = "errored", "Errored"  # failed temporarily; retried at next_attempt_at
    FAILED = "failed", "Failed"  # given up: a permanent error, or the last attempt failed
    SKIPPED = "skipped", "Skipped"  # deliberately not sent; last_error says why
    HELD = "held", "Held for a digest"  # its recipient wants it in a digest; sent with one


# Statuses a row never leaves.
FINAL_STATUSES = [NotificationStatus.SENT, NotificationStatus.FAILED, NotificationStatus.SKIPPED]


class DeliveryMode(models.TextChoices):
    """How a recipient wants one type on one channel. ``digest`` is offered on channels whose
    backend sets ``supports_digest`` (email)."""

    IMMEDIATE = "immediate", _("Immediately")
    OFF = "off", _("Off")
    DIGEST = "digest", _("In a digest")
