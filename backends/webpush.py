"""Browser push through the Web Push protocol, with pywebpush (the ``webpush`` extra).

A user has one ``PushSubscription`` per browser that enabled notifications (the inbox's
"Enable browser notifications" button, and ``static/spire_notify/push.js``). A push carries the
title, the short body and the site-relative URL as JSON, encrypted for the browser
(aes128gcm); the service worker ``push-sw.js`` shows it and opens the URL on click.

The push service answers for each browser: 404 or 410 means the subscription is gone for good
(the user revoked permission, the browser dropped it), so it is deleted, and a row whose
browsers are all gone fails permanently. A row is sent when at least one browser took it.

An endpoint is posted by the browser, so it is the user's input: it may reach public addresses
only (``spire_notify.destinations``), checked before each push and on every connection the
push opens, redirects included. A refused endpoint fails for good, alone. Errors and log lines
name an endpoint masked (``spire_notify.masking``).
"""

import base64
import json
from dataclasses import dataclass

from django.core.checks import Error
from django.utils.text import Truncator

from spire_notify.destinations import RefusedDestination, connections_checked, url_refusal
from spire_notify.masking import mask_url, redact, urls_redacted

from .base import BaseNotificationBackend, Outcome, Rendered, describe_error
from .webhook import RETRYABLE_STATUSES, RejectedDelivery

try:
    import requests
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid
    from pywebpush import WebPushException, webpush
except ImportError:  # the optional extra is not installed: check E060 says so
    webpush = None

# Push services take about 4 KB of payload; a notification's lines fit well within.
TITLE_CHARS = 120
BODY_CHARS = 240
# The statuses by which a push service says a subscription no longer exists.
GONE_STATUSES = {404, 410}


@dataclass(frozen=True)
class PushSession:
    """One batch's keep-alive HTTP session, and the signing key."""

    http: object
    vapid: object


class WebPushBackend(BaseNotificationBackend):
    """Options:

    - ``vapid_private_key``: the application server's private key, as PEM or as the base64url
      of the raw key (``vapid --gen`` makes one; required, check E061).
    - ``vapid_subject``: a ``mailto:`` or ``https:`` URL the push service can reach you at
      (required, check E062).
    - ``ttl``: seconds the push service keeps a push for a browser that is offline
      (default 86400).
    - ``timeout``: seconds each request to a push service may take (default 10).
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

    def send_one(self, session, delivery):
        from spire_notify.models import PushSubscription

        subscriptions = list(PushSubscription.objects.filter(user_id=delivery.notification.user_id))
        if not subscriptions:
            raise RejectedDelivery(Outcome.skipped("the user has no browser subscribed to push"))
        failures, gone = [], []
        for subscription in subscriptions:
            try:
                self.push(session, subscription, delivery.rendered.content)
            except (WebPushException, requests.RequestException) as error:
                status = getattr(getattr(error, "response", None), "status_code", None)
                if status in GONE_STATUSES:
                    gone.append(subscription.pk)
                else:
                    failures.append((status, error))
        if gone:
            PushSubscription.objects.filter(pk__in=gone).delete()
        if len(failures) + len(gone) < len(subscriptions):
            return  # at least one browser has it
        if failures:
            raise RejectedDelivery(classify_push_failures(failures))
        raise RejectedDelivery(
            Outcome.permanent_failure("the push service says the subscription is gone (404/410); deleted it")
        )

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
        if isinstance(error, RejectedDelivery):
            return error.outcome
        if isinstance(error, RefusedDestination):
            return Outcome.permanent_failure(str(error))
        return Outcome.temporary(describe_error(error))

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


def may_pass(status, error):
    """Whether a failed push may succeed later: no answer, 5xx, "too many"; never a refusal."""
    if isinstance(error, RefusedDestination):
        return False
    return status is None or status >= 500 or status in RETRYABLE_STATUSES


def classify_push_failures(failures):
    """Retried when any failure may pass; final otherwise."""
    text = "; ".join(describe_error(error).splitlines()[0] for _, error in failures)
    if any(may_pass(status, error) for status, error in failures):
        return Outcome.temporary(text)
    return Outcome.permanent_failure(text)
