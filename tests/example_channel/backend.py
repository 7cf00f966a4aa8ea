"""The SMS backend: a message's title and link, POSTed as JSON to an SMS gateway's endpoint."""

import json
import urllib.request
from urllib.parse import urlsplit

from django.core.checks import Error

from spire_notify.backends.base import BaseNotificationBackend, Outcome, Rendered, describe_error
from tests.example_channel.models import PhoneNumber

# What fits in one text message.
SMS_CHARS = 160


class NoPhoneNumber(Exception):
    """The recipient has no number: no retry will find one."""


class SmsBackend(BaseNotificationBackend):
    def __init__(self, *, alias, url="", timeout=10, **options):
        super().__init__(alias=alias, **options)  # refuses an unknown option by name
        self.url = url
        self.timeout = timeout

    def render(self, message, recipient):
        # Pure: no query, no socket. The link is the page's path.
        text = f"{message.title} {message.path}"[:SMS_CHARS]
        return Rendered(body=text, url=message.path, content=text)

    def prepare_batch(self, deliveries, guard):
        # The numbers of the whole batch in one query, not one per delivery.
        users = {delivery.notification.user_id for delivery in deliveries}
        return dict(PhoneNumber.objects.filter(user_id__in=users).values_list("user_id", "number"))

    def send_one(self, connection, delivery, *, batch):
        user_id = delivery.notification.user_id
        if user_id not in batch:
            raise NoPhoneNumber(f"user {user_id} has no phone number")
        document = json.dumps({"to": batch[user_id], "text": delivery.rendered.content}).encode()
        request = urllib.request.Request(
            self.url, data=document, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=self.timeout):
            pass  # any 2xx: the gateway took it; urlopen raises for the rest
        return Outcome.success()

    def classify_error(self, error):
        if isinstance(error, NoPhoneNumber):
            return Outcome.permanent_failure(str(error))
        return Outcome.temporary(describe_error(error))

    def check(self, **kwargs):
        if urlsplit(self.url).scheme in ("http", "https"):
            return []
        return [
            Error(
                f"NOTIFY_BACKENDS[{self.alias!r}]: 'url' is not an http(s) URL: {self.url!r}.",
                hint="Set OPTIONS['url'] to the SMS gateway's endpoint.",
                id="example_sms.E001",
            )
        ]
