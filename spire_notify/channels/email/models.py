"""What the email channel keeps beside each notification: the address it was written for, so
that a retry goes where the first attempt went even if the user's address changed since; and,
where the channel has a ``failover``, the mailer that sent it."""

from django.db import models

from spire_notify.store.models import Notification


class EmailNotification(models.Model):
    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, related_name="email", primary_key=True
    )
    to_email_address = models.EmailField(max_length=254)
    # The MAILERS alias that took the email, written by the worker only when the channel names
    # mailers to fail over to: with one mailer there is nothing to tell, and no query to pay.
    # The database fills it too: code from before the column (a worker mid-deploy) and SQL that
    # names its own columns (an audience's INSERT … SELECT) write rows without it.
    sent_through = models.CharField(max_length=100, blank=True, default="", db_default="")

    def __str__(self):
        return f"{self.notification} <{self.to_email_address}>"
