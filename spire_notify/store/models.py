from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

from spire_notify import clock
from spire_notify.store.choices import DeliveryMode, NotificationStatus


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(user=user)


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
        # spire_notify_user_idx leads with the user: a second index would be written for nothing.
        db_index=False,
        help_text="None for a guest, reached at the address its channel keeps.",
    )
    channel = models.CharField(max_length=64, help_text="The NOTIFY_BACKENDS alias.")
    event = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True, help_text="As rendered by the channel's backend.")
    url = models.CharField(max_length=2048, blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="The message, as the service built it.")

    # spire_notify_target_idx leads with the content type.
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, null=True, blank=True, db_index=False
    )
    object_id = models.CharField(max_length=64, blank=True)
    content_object = GenericForeignKey("content_type", "object_id")

    status = models.CharField(max_length=16, choices=NotificationStatus, default=NotificationStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # db_default too: a row written by SQL that names its columns (a bulk INSERT … SELECT, code
    # from before this column still running mid-deploy) gets 0, not a NOT NULL error.
    throttles = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Times the receiver said we sent too fast; these cost no attempt."
    )
    send_after = models.DateTimeField(default=clock.now, help_text="Not delivered before this time.")
    next_attempt_at = models.DateTimeField(default=clock.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    unless_read = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="escalations",
        help_text="The row whose reading cancels this one (spire_notify.Deferred).",
    )
    digest = models.ForeignKey(
        "Digest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="items",
        help_text="The digest that carries (or carried) this held notification.",
    )

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # Partial indexes only, for the worker: every claim and every outcome moves a row
            # between statuses, and an index of every status took an entry per move (P5).
            # The claim of abandoned rows: only rows being delivered, by lease.
            models.Index(
                fields=["lease_expires_at"],
                condition=models.Q(status="processing"),
                name="spire_notify_leased_idx",
            ),
            # The claim of due rows, in its ORDER BY: read in order, stopped after a batch.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status__in=["pending", "errored"]),
                name="spire_notify_due_idx",
            ),
            models.Index(fields=["user", "-created_at"], name="spire_notify_user_idx"),
            models.Index(fields=["content_type", "object_id"], name="spire_notify_target_idx"),
            # The digest worker's query: held rows not yet in a digest, by the end of their window.
            models.Index(
                fields=["send_after", "user", "channel"],
                condition=models.Q(status="held", digest__isnull=True),
                name="spire_notify_held_idx",
            ),
        ]

    def __str__(self):
        return f"{self.title} → {self.user or 'a guest'} ({self.channel}, {self.status})"


class NotificationPreference(models.Model):
    """One recipient's mode for one notification type on one channel.

    The recipient is a user, or for a guest (no account) an email address, stored lowercased;
    exactly one of the two is set. Absent rows mean the type's default.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notification_preferences",
    )
    email = models.EmailField(max_length=254, blank=True, help_text="A guest's address, lowercased.")
    type_key = models.CharField(max_length=100, help_text="The notification type (the message's event).")
    channel = models.CharField(max_length=64, help_text="The NOTIFY_BACKENDS alias.")
    mode = models.CharField(max_length=16, choices=DeliveryMode)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "type_key", "channel"],
                condition=models.Q(user__isnull=False),
                name="spire_notify_pref_user_uniq",
            ),
            models.UniqueConstraint(
                fields=["email", "type_key", "channel"],
                condition=models.Q(user__isnull=True),
                name="spire_notify_pref_guest_uniq",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, email="")
                    | (models.Q(user__isnull=True) & ~models.Q(email=""))
                ),
                name="spire_notify_pref_one_owner",
            ),
        ]

    def __str__(self):
        return f"{self.user or self.email}: {self.type_key} by {self.channel} → {self.mode}"


class Digest(models.Model):
    """One email that carries a user's held notifications of one channel.

    It is claimed, leased, retried and recorded like a notification (the same status values and
    claim fields), so a worker killed mid-digest leaves it to another worker once its lease
    expires; its items (``Notification.digest``) are tied to it once, when it is opened, and
    end with its outcome.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests")
    channel = models.CharField(max_length=64, help_text="The NOTIFY_BACKENDS alias.")
    status = models.CharField(max_length=16, choices=NotificationStatus, default=NotificationStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    throttles = models.PositiveIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(default=clock.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="spire_notify_digest_ready_idx")]
        constraints = [
            # One open digest per user and channel: two workers can never both open one for the
            # same user, and what arrives while one is out waits for the next.
            models.UniqueConstraint(
                fields=["user", "channel"],
                condition=models.Q(status__in=["pending", "processing", "errored"]),
                name="spire_notify_digest_open_uniq",
            )
        ]

    def __str__(self):
        return f"Digest {self.pk} → {self.user} ({self.channel}, {self.status})"


class DestinationReceiptQuerySet(models.QuerySet):
    def by_notification(self, notification_pks):
        """``{notification pk: {receipt key, …}}`` of these notifications, in one query."""
        taken = {}
        for pk, key in self.filter(notification_id__in=notification_pks).values_list(
            "notification_id", "destination"
        ):
            taken.setdefault(pk, set()).add(key)
        return taken

    def record(self, notification_pk, key):
        """Keep that the destination of ``key`` took the notification; once, however often."""
        self.bulk_create(
            [DestinationReceipt(notification_id=notification_pk, destination=key)], ignore_conflicts=True
        )


class DestinationReceipt(models.Model):
    """One destination (a browser, a chat URL) that took a notification sent to several: a
    retry of the row goes only to the destinations that have none.

    Written as each destination takes the row, not when the row's outcome is recorded, so that
    neither a retry nor a worker that takes over a lapsed claim sends it there again.
    """

    # spire_notify_receipt_uniq leads with the notification.
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="destination_receipts", db_index=False
    )
    destination = models.CharField(
        max_length=64,
        help_text="SHA-256 of the destination's address: which one, not the secret.",
    )
    received_at = models.DateTimeField(default=clock.now)

    objects = DestinationReceiptQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notification", "destination"], name="spire_notify_receipt_uniq")
        ]

    def __str__(self):
        return f"Notification {self.notification_id} → {self.destination[:12]}…"


class ChannelPace(models.Model):
    """Where a rate-limited channel stands, shared by every worker: the moment its next
    hand-off is free (``free_at``). A worker takes a block of hand-offs by moving it forward
    in one atomic UPDATE (``spire_notify.worker.pace_stores``), so two workers never take the
    same slot; a throttling reply moves it forward too, and every worker waits.

    ``free_at`` is seconds since the Unix epoch on the database's own clock, a float: the
    arithmetic stays one portable expression, and workers on machines whose clocks differ
    read one clock.
    """

    channel = models.CharField(max_length=64, unique=True, help_text="The NOTIFY_BACKENDS alias.")
    free_at = models.FloatField(default=0.0)

    def __str__(self):
        return f"{self.channel} free at {self.free_at:.3f}"
