"""Browser push through the Web Push protocol, with pywebpush (the ``webpush`` extra).

A user has one ``PushSubscription`` per browser that enabled notifications (the inbox's
"Enable browser notifications" button, and ``static/spire_notify/push.js``). A push carries the
title, the short body and the site-relative URL as JSON, encrypted for the browser
(aes128gcm); the service worker ``push-sw.js`` shows it and opens the URL on click.

Each browser is a destination (``backends/per_destination.py``): one total deadline per row, the
worker's claim checked before each browser, and a failure kept with its own browser. The push
service answers for each: 404 or 410 means the subscription is gone for good (the user revoked
permission, the browser dropped it), so it is deleted whatever else fails. A row is retried
while a browser failed temporarily (the retry skips the browsers that took it), sent once
every browser took it or failed for good and at least one took it, and failed when none could.

An endpoint is posted by the browser, so it is the user's input: it may reach public addresses
only (``spire_notify.destinations``), checked before each push and on every connection the
push opens, redirects included. A refused endpoint fails for good, alone. Errors and log lines
name an endpoint masked (``spire_notify.masking``).
"""

import base64
import json
from collections import defaultdict
from dataclasses import dataclass

from django.core.checks import Error
from django.utils.text import Truncator

from spire_notify.backends.base import Outcome, Rendered, describe_error
from spire_notify.backends.http_replies import THROTTLING_STATUS, retry_after_seconds, worth_retrying
from spire_notify.backends.per_destination import DestinationsBackend
from spire_notify.channels.webpush.models import PushSubscription
from spire_notify.destinations import RefusedDestination, connections_checked, url_refusal
from spire_notify.masking import mask_url, redact, urls_redacted

try:
    import requests
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid, VapidException
    from pywebpush import WebPushException, webpush
except ImportError:  # the optional extra is not installed: check E060 says so
    webpush = None

# Push services take about 4 KB of payload; a notification's lines fit well within.
TITLE_CHARS = 120
BODY_CHARS = 240
# The statuses by which a push service says a subscription no longer exists.
GONE_STATUSES = {404, 410}
GONE = "the push service says the subscription is gone (404/410); deleted it"


@dataclass(frozen=True)
class PushSession:
    """One batch's keep-alive HTTP session, and the signing key."""

    http: object
    vapid: object


class WebPushBackend(DestinationsBackend):
    """Options:

    - ``vapid_private_key``: the application server's private key, as PEM or as the base64url
      of the raw key (``vapid --gen`` makes one; required, check E061).
    - ``vapid_subject``: a ``mailto:`` or ``https:`` URL the push service can reach you at
      (required, check E062).
    - ``ttl``: seconds the push service keeps a push for a browser that is offline
      (default 86400).
    - ``timeout``: seconds each request to a push service may take (default 10); a row's
      browsers together take at most ``NOTIFY_DELIVERY_DEADLINE_SECONDS``.
    """

    needs_account = True

    def __init__(self, *, alias, vapid_private_key="", vapid_subject="", ttl=86400, timeout=10, **options):
        super().__init__(alias=alias, **options)
        self.vapid_private_key = vapid_private_key
        self.vapid_subject = vapid_subject
        self.ttl = ttl
        self.timeout = timeout

    # -- the pure half --------------------------------------------------------------------

    def render(self, message, recipient):
        body = Truncator(message.summary).chars(BODY_CHARS)
        payload = {"title": Truncator(message.title).chars(TITLE_CHARS), "body": body, "url": message.path}
        return Rendered(body=body, url=message.path, content=json.dumps(payload, separators=(",", ":")))

    # -- the I/O half ---------------------------------------------------------------------

    def open(self):
        return PushSession(http=requests.Session(), vapid=self.vapid())

    def close(self, session):
        session.http.close()

    def destinations_of(self, deliveries):
        users = {delivery.notification.user_id for delivery in deliveries}
        by_user = defaultdict(list)
        for subscription in PushSubscription.objects.filter(user_id__in=users):
            by_user[subscription.user_id].append(subscription)
        return {delivery.notification.pk: by_user[delivery.notification.user_id] for delivery in deliveries}

    def destination_key(self, subscription):
        return subscription.endpoint

    def send_to_destination(self, session, delivery, subscription):
        # A failure raises: classify_error() reads it, destination_gone() whether to forget it.
        self.push(session, subscription, delivery.rendered.content)
        return Outcome.success()

    def destination_gone(self, error):
        return push_status(error) in GONE_STATUSES

    def forget_destinations(self, subscriptions):
        PushSubscription.objects.filter(pk__in=[subscription.pk for subscription in subscriptions]).delete()

    def no_destinations(self):
        return Outcome.skipped("the user has no browser subscribed to push")

    def push(self, session, subscription, payload):
        """Push ``payload`` to one browser; raises ``RefusedDestination`` for an endpoint that
        leads to an address it may not, and the push's own errors with the endpoint masked."""
        endpoint = subscription.endpoint
        reason = url_refusal(endpoint)
        if reason:
            raise RefusedDestination(f"refused the push endpoint {mask_url(endpoint)}: it leads to {reason}")
        try:
            with urls_redacted([endpoint]), connections_checked():
                webpush(
                    subscription_info=subscription.subscription_info(),
                    data=payload,
                    vapid_private_key=session.vapid,
                    # A new dict each time: pywebpush writes the audience and expiry into it.
                    vapid_claims={"sub": self.vapid_subject},
                    ttl=self.ttl,
                    timeout=self.timeout,
                    requests_session=session.http,
                )
        except RefusedDestination as error:
            # A redirect, or a name that resolves elsewhere now than a moment ago.
            raise RefusedDestination(f"refused the push endpoint {mask_url(endpoint)}: {error}") from None
        except (WebPushException, requests.RequestException) as error:
            # requests names the endpoint's path (its secret part) in its messages; the status
            # stays readable on the response.
            message = error.message if isinstance(error, WebPushException) else str(error)
            raise type(error)(redact(message, [endpoint]), response=error.response) from None

    def classify_error(self, error):
        """Throttled on a 429 (for its Retry-After); retried when it may pass (no answer, 5xx);
        final for a refused endpoint,
        a gone subscription, another refusal, or an endpoint no VAPID signature can be made for."""
        if isinstance(error, RefusedDestination):
            return Outcome.permanent_failure(str(error))
        status = push_status(error)
        if status in GONE_STATUSES:
            return Outcome.permanent_failure(GONE)
        text = describe_error(error).splitlines()[0]
        if status == THROTTLING_STATUS:
            headers = getattr(error.response, "headers", {})
            return Outcome.throttled(text, retry_after=retry_after_seconds(headers.get("Retry-After")))
        if isinstance(error, VapidException) or (status is not None and not worth_retrying(status)):
            return Outcome.permanent_failure(text)
        return Outcome.temporary(text)

    # -- keys -----------------------------------------------------------------------------

    def vapid(self):
        key = self.vapid_private_key
        if "-----BEGIN" in key:
            return Vapid.from_pem(key.encode())
        return Vapid.from_string(private_key=key)

    def application_server_key(self):
        """The public key browsers subscribe with (``applicationServerKey``), base64url."""
        point = self.vapid().public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return base64.urlsafe_b64encode(point).rstrip(b"=").decode()

    # -- configuration --------------------------------------------------------------------

    def check(self, **kwargs):
        prefix = f"NOTIFY_BACKENDS[{self.alias!r}]:"
        if webpush is None:
            return [
                Error(
                    f"{prefix} the Web Push backend needs the pywebpush package.",
                    hint="pip install 'spire-notify[webpush]'",
                    id="spire_notify.E060",
                )
            ]
        errors = []
        try:
            self.vapid()
        except Exception as error:
            errors.append(
                Error(
                    f"{prefix} 'vapid_private_key' is not a usable VAPID private key "
                    f"({describe_error(error)}).",
                    hint="Generate one with `vapid --gen` (py-vapid) and set OPTIONS['vapid_private_key'] "
                    "to its PEM text.",
                    id="spire_notify.E061",
                )
            )
        if not self.vapid_subject.startswith(("mailto:", "https:")):
            errors.append(
                Error(
                    f"{prefix} 'vapid_subject' must be a mailto: or https: URL, not {self.vapid_subject!r}.",
                    hint="Set OPTIONS['vapid_subject'] to e.g. 'mailto:ops@example.com'.",
                    id="spire_notify.E062",
                )
            )
        return errors


def push_status(error):
    """The HTTP status a push service answered ``error`` with, or ``None``."""
    return getattr(getattr(error, "response", None), "status_code", None)
