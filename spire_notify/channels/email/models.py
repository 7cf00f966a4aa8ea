"""What the email channel keeps beside each notification: the address it was written for, so
that a retry goes where the first attempt went even if the user's address changed since."""

from django.db import models

from spire_notify.store.models import Notification


class EmailNotification(models.Model):
    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, related_name="email", primary_key=True
    )
    to_email_address = models.EmailField(max_length=254)

    def __str__(self):
        return f"{self.notification} <{self.to_email_address}>"
