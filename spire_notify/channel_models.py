"""What the optional channels keep per user: Apprise URLs and browser push subscriptions.

Both hold secrets of the user (a ntfy topic, a Slack webhook token, a push endpoint that
anyone who knows it can post to): nothing in spire-notify shows them back in full, and neither
is in the admin.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from spire_notify.masking import mask_url


class AppriseAddress(models.Model):
    """One Apprise URL of one user (their ntfy topic, a Discord webhook, …), for the Apprise
    backend's per-user mode."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="apprise_addresses"
    )
    url = models.TextField(help_text="An Apprise URL; a secret, never shown back in full.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "Apprise address"
        verbose_name_plural = "Apprise addresses"

    def __str__(self):
        return f"{self.masked_url} of {self.user}"

    @property
    def masked_url(self):
        return mask_url(self.url)


class PushSubscription(models.Model):
    """One browser's Web Push subscription: a user has one per browser they enabled."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    # The push service's URL for this browser; posting to it is what a push is, so it is the
    # subscription's identity (a browser that subscribes again gets the same one).
    endpoint = models.URLField(max_length=2048, unique=True)
    p256dh = models.CharField(max_length=255, help_text="The browser's public key (base64url).")
    auth = models.CharField(max_length=255, help_text="The browser's auth secret (base64url).")
    user_agent = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{mask_url(self.endpoint)} of {self.user}"

    def subscription_info(self):
        """The form pywebpush takes (and the browser's ``PushSubscription.toJSON()`` gives)."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}
