"""Webhooks: a signed JSON document POSTed to one URL per channel.

Requests are signed as the Standard Webhooks specification says, so a receiver can reject a
forged, altered, stale or replayed delivery:

- ``webhook-id``: ``notification-<id>``, the same on every retry of one notification;
- ``webhook-timestamp``: when this attempt was sent, in Unix seconds;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, one per
  secret (several while switching from one to the next; ``webhook_secrets`` has the keys).

``verify()`` is the receiver's half: it checks the signature and that the timestamp is recent;
the receiver keeps the ids it accepted for as long as that tolerance, and drops a repeat.
Every request has a total deadline and reads at most ``MAX_REPLY_BYTES`` of any reply, so a
receiver that answers slowly or without end can hold a worker for ``timeout`` seconds at most.
"""

import base64
import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.checks import Error

from spire_notify.backends.base import BaseNotificationBackend, Outcome, Rendered
from spire_notify.backends.http_replies import THROTTLING_STATUS, retry_after_seconds, worth_retrying
from spire_notify.channels.webhook.secrets import secret_key, secret_messages, secrets_of

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
# How old a request a receiver accepts, in seconds (the Standard Webhooks default).
TOLERANCE_SECONDS = 300
# Only the start of a reply says anything worth keeping (the error text of a failure).
MAX_REPLY_BYTES = 64 * 1024


class InvalidWebhook(Exception):
    """What ``verify()`` raises for a request to reject; the message says why."""


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The signature of one request with one secret (``webhook_secrets`` says how a secret
    becomes a key); the ``webhook-signature`` header holds one per secret, space-separated."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret, headers, body, *, now=None, tolerance=TOLERANCE_SECONDS):
    """Check a received request; returns its ``webhook-id`` or raises ``InvalidWebhook``.

    ``headers`` is any mapping with case-insensitive access, such as Django's
    ``request.headers``. The signature is compared in constant time.
    """
    try:
        webhook_id, timestamp = headers[ID_HEADER], int(headers[TIMESTAMP_HEADER])
        signatures = headers[SIGNATURE_HEADER].split()
    except (KeyError, ValueError) as error:
        raise InvalidWebhook("missing or malformed webhook headers") from error
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise InvalidWebhook("the timestamp is too old or too far in the future")
    expected = sign(secret, webhook_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise InvalidWebhook("no signature matches")
    return webhook_id


def is_http_url(url):
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed IPv6 host
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def target_reference(target):
    """``"app_label.model:pk"`` of the message's object, without touching the database."""
    if target is None:
        return None
    return f"{target._meta.label_lower}:{target.pk}"


@dataclass(frozen=True)
class Endpoint:
    """One batch's keep-alive connection, and the request path on it."""

    connection: http.client.HTTPConnection
    path: str


class WebhookBackend(BaseNotificationBackend):
    """Options:

    - ``url``: the ``http://`` or ``https://`` endpoint that receives every notification (required).
    - ``secret``: the shared signing key, a Standard Webhooks ``whsec_…`` secret (required;
      ``manage.py webhook_secret`` makes one). A plain string signs as before, with a warning;
      a list of secrets signs each request with every one, to switch from one to the next.
    - ``timeout``: seconds one request may take in all, from connecting to the end of the
      reply (default 10).
    """

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
            "target": target_reference(message.target),
            "context": dict(message.context),
            "recipient": {"user_id": recipient.user_id, "email": recipient.email, "name": recipient.name},
        }
        # Sorted keys and no spaces: the same message always makes the same bytes. Signing
        # happens when sending, as the signature covers the time of that attempt.
        body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        return Rendered(body=message.summary, url=message.path, content=body)

    def open(self):
        endpoint = urlsplit(self.url)
        connection_class = (
            http.client.HTTPSConnection if endpoint.scheme == "https" else http.client.HTTPConnection
        )
        # One keep-alive connection for the batch; http.client reconnects by itself when the
        # server closed it after a reply.
        connection = connection_class(endpoint.hostname, endpoint.port, timeout=self.timeout)
        path = (endpoint.path or "/") + (f"?{endpoint.query}" if endpoint.query else "")
        return Endpoint(connection, path)

    def send_one(self, endpoint, delivery):
        webhook_id = f"notification-{delivery.notification.pk}"
        timestamp = int(time.time())
        body = delivery.rendered.content
        headers = {
            "Content-Type": "application/json",
            ID_HEADER: webhook_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: " ".join(
                sign(secret, webhook_id, timestamp, body) for secret in secrets_of(self.secret)
            ),
        }
        with Deadline(endpoint.connection, self.timeout) as deadline:
            endpoint.connection.request("POST", endpoint.path, body=body, headers=headers)
            response = deadline.getresponse()
            reply = read_capped(endpoint.connection, response)
        return classify_response(
            response.status, response.reason, reply, retry_after=response.getheader("Retry-After")
        )

    def close(self, endpoint):
        endpoint.connection.close()

    def connection_lost(self, error):
        return isinstance(error, (OSError, http.client.HTTPException))

    def check(self, **kwargs):
        errors = secret_messages(self.alias, self.secret)
        if not is_http_url(self.url):
            errors.append(
                Error(
                    # Not quoted: the URL may carry a token, and check output ends up in logs.
                    f"NOTIFY_BACKENDS[{self.alias!r}]: the webhook 'url' is not an http:// or "
                    "https:// URL with a host.",
                    hint="Set OPTIONS['url'] to the receiver's endpoint, e.g. 'https://hooks.example.com/notify'.",
                    id="spire_notify.E031",
                )
            )
        return errors


class Deadline:
    """Shuts the request's socket down once ``seconds`` have passed.

    A socket timeout bounds each read, not a request: a reply trickled a byte at a time never
    times out. Shutting the socket down from a timer ends whatever read is blocked at once.
    A reply that closes the connection (any HTTP/1.0 one, or ``Connection: close``) takes the
    socket from the connection as ``getresponse()`` returns, and is read from it alone: so the
    deadline keeps hold of the socket the reply comes on, through its own ``getresponse()``.
    """

    def __init__(self, connection, seconds):
        self.connection = connection
        self.reply_socket = None
        self.timer = threading.Timer(seconds, self._expire)
        self.expired = False

    def getresponse(self):
        """The connection's reply, whose socket the deadline can still shut."""
        self.reply_socket = self.connection.sock
        return self.connection.getresponse()

    def _expire(self):
        self.expired = True
        sock = self.connection.sock or self.reply_socket
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, error_type, error, traceback):
        self.timer.cancel()
        if self.expired:
            self.connection.close()
            raise TimeoutError("the request took longer than its deadline") from error


def read_capped(connection, response):
    """The first ``MAX_REPLY_BYTES`` of the reply, decoded. A longer reply's rest is not read:
    the connection is closed instead, as its unread bytes would be taken for the next reply."""
    reply = response.read(MAX_REPLY_BYTES)
    if not response.isclosed():
        connection.close()
    return reply.decode(errors="replace")


def classify_response(status, reason, reply="", *, retry_after=None):
    """2xx is delivered; 429 is throttled (waiting what its ``Retry-After`` header asks); 5xx
    and other "try later" replies are retried; any other reply is final, since sending the same
    document again would get the same answer."""
    if 200 <= status < 300:
        return Outcome.success()
    text = reply.strip()[:200]
    error = f"HTTP {status} {reason}" + (f": {text}" if text else "")
    if status == THROTTLING_STATUS:
        return Outcome.throttled(error, retry_after=retry_after_seconds(retry_after))
    if worth_retrying(status):
        return Outcome.temporary(error)
    return Outcome.permanent_failure(error)
