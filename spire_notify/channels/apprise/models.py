"""What the Apprise channel keeps per user: their own Apprise URLs, for the backend's per-user
mode. They hold secrets of the user (a ntfy topic, a Slack webhook token): nothing in
spire-notify shows them back in full, and they are not in the admin.
"""

from django.conf import settings
from django.db import models

from spire_notify import clock
from spire_notify.masking import mask_url


class AppriseAddress(models.Model):
    """One Apprise URL of one user (their ntfy topic, a Discord webhook, …), for the Apprise
    backend's per-user mode."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="apprise_addresses"
    )
    url = models.TextField(help_text="An Apprise URL; a secret, never shown back in full.")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "Apprise address"
        verbose_name_plural = "Apprise addresses"

    def __str__(self):
        return f"{self.masked_url} of {self.user}"

    @property
    def masked_url(self):
        return mask_url(self.url)
