from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models


class PhoneNumber(models.Model):
    """Where a user gets their text messages."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phone")
    number = models.CharField(
        max_length=16,
        validators=[
            RegexValidator(r"^\+[1-9][0-9]{6,14}$", "Give the number in international form: +4915112345678.")
        ],
    )

    def __str__(self):
        return self.number
