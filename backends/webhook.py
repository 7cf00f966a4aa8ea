"""Webhooks: a signed JSON document POSTed to one URL per channel.

The receiver authenticates a request by recomputing the HMAC-SHA256 of the raw body with the
shared secret and comparing it with the ``X-Spire-Signature`` header (``sha256=<hex>``, the
form GitHub uses). ``X-Spire-Notification`` carries the notification id, the same on every
retry, so a receiver can drop a duplicate delivery.
"""

import hashlib
import hmac
import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.checks import Error

from .base import BaseNotificationBackend, Outcome, Rendered, describe_error

SIGNATURE_HEADER = "X-Spire-Signature"
NOTIFICATION_HEADER = "X-Spire-Notification"
# Replies that say "not now" rather than "never": the request may succeed when retried.
RETRYABLE_STATUSES = {408, 425, 429}


@dataclass(frozen=True)
class SignedDocument:
    """The exact bytes to POST and their signature, computed once at render time."""

    body: bytes
    signature: str


def sign(secret: str, body: bytes) -> str:
    """The ``X-Spire-Signature`` value of ``body``; receivers compare it with
    ``hmac.compare_digest`` so that the comparison leaks no timing."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def target_reference(target):
    """``"app_label.model:pk"`` of the message's object, without touching the database."""
    if target is None:
        return None
    return f"{target._meta.label_lower}:{target.pk}"


class WebhookBackend(BaseNotificationBackend):
    """Options:

    - ``url``: the ``http://`` or ``https://`` endpoint that receives every notification (required).
    - ``secret``: the shared HMAC-SHA256 key (required; the ``spire_notify.E030`` check).
    - ``timeout``: seconds to wait for connecting and for each reply (default 10).
    """

    delivers_externally = True

    def __init__(self, *, alias, url="", secret="", timeout=10, **options):
        super().__init__(alias=alias, **options)
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def render(self, message, recipient):
        document = {
            "event": message.event,
            "title": message.title,
            "body": message.summary,
            "path": message.path,
            "priority": message.priority,
            "purpose": message.purpose,
            "target": target_reference(message.target),
            "context": dict(message.context),
            "recipient": {"user_id": recipient.user_id, "email": recipient.email, "name": recipient.name},
        }
        # Sorted keys and no spaces: the same message always signs to the same bytes.
        body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        content = SignedDocument(body=body, signature=sign(self.secret, body))
        return Rendered(body=message.summary, url=message.path, content=content)

    def send(self, deliveries):
        endpoint = urlsplit(self.url)
        connection_class = (
            http.client.HTTPSConnection if endpoint.scheme == "https" else http.client.HTTPConnection
        )
        # One keep-alive connection for the batch; http.client reconnects by itself when the
        # server closed it after a reply.
        connection = connection_class(endpoint.hostname, endpoint.port, timeout=self.timeout)
        path = endpoint.path or "/"
        if endpoint.query:
            path += "?" + endpoint.query
        try:
            return [self._post(connection, path, delivery) for delivery in deliveries]
        finally:
            connection.close()

    def _post(self, connection, path, delivery):
        document = delivery.rendered.content
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: document.signature,
            NOTIFICATION_HEADER: str(delivery.notification.pk),
        }
        try:
            connection.request("POST", path, body=document.body, headers=headers)
            response = connection.getresponse()
            # Read to the end even though only the start is kept: leftover bytes would be
            # taken for the next reply on this keep-alive connection.
            reply = response.read().decode(errors="replace")[:200]
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            return Outcome.temporary(describe_error(error))
        return classify_response(response.status, response.reason, reply)

    def check(self, **kwargs):
        errors = []
        if not self.secret:
            errors.append(
                Error(
                    f"NOTIFY_BACKENDS[{self.alias!r}]: the webhook has no 'secret'; receivers could "
                    "not tell its requests from forged ones.",
                    hint="Set OPTIONS['secret'] to a long random string shared with the receiver.",
                    id="spire_notify.E030",
                )
            )
        if urlsplit(self.url).scheme not in {"http", "https"} or not urlsplit(self.url).hostname:
            errors.append(
                Error(
                    f"NOTIFY_BACKENDS[{self.alias!r}]: the webhook 'url' {self.url!r} is not an "
                    "http:// or https:// URL.",
                    hint="Set OPTIONS['url'] to the receiver's endpoint, e.g. 'https://hooks.example.com/notify'.",
                    id="spire_notify.E031",
                )
            )
        return errors


def classify_response(status, reason, reply=""):
    """2xx is delivered; 5xx and "try later" replies are retried; any other reply is final,
    since sending the same document again would get the same answer."""
    if 200 <= status < 300:
        return Outcome.success()
    error = f"HTTP {status} {reason}" + (f": {reply.strip()}" if reply.strip() else "")
    if status >= 500 or status in RETRYABLE_STATUSES:
        return Outcome.temporary(error)
    return Outcome.permanent_failure(error)
