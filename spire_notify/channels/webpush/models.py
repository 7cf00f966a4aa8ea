"""What the Web Push channel keeps per user: one subscription per browser that enabled
notifications. An endpoint is a secret (anyone who knows it can post to it): nothing in
spire-notify shows it back in full, and it is not in the admin.
"""

from django.conf import settings
from django.db import models

from spire_notify import clock
from spire_notify.masking import mask_url


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
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{mask_url(self.endpoint)} of {self.user}"

    def subscription_info(self):
        """The form pywebpush takes (and the browser's ``PushSubscription.toJSON()`` gives)."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}
