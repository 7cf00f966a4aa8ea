"""The Web Push channel's endpoints: a browser posts its subscription for the signed-in user,
or takes it back.

An endpoint is the user's input to a server that will post to it: it must be https and lead to
public addresses only (``spire_notify.destinations``). A user keeps a bounded number of
browsers, and a browser's subscription never moves from one account to another.
"""

import base64
import binascii
import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from spire_notify import conf
from spire_notify.channels.webpush.backend import WebPushBackend
from spire_notify.channels.webpush.models import PushSubscription
from spire_notify.destinations import url_refusal
from spire_notify.handler import notify_backends
from spire_notify.views import deny_framing

# The lengths of a P-256 public key (uncompressed point) and of a Web Push auth secret.
P256DH_BYTES = 65
AUTH_BYTES = 16
PUSH_ENDPOINT = URLValidator(schemes=["https"])


def push_backend():
    """The first Web Push backend configured, or ``None``."""
    return next(iter(notify_backends.of_class(WebPushBackend)), None)


def push_button_context(push):
    """What ``spire_notify/push_button.html`` needs; nothing to show without a push backend."""
    return {
        "push_key": push.application_server_key() if push else "",
        "push_subscription_url": reverse("spire_notify:push_subscription"),
    }


@deny_framing
@login_required
@require_POST
def push_subscription(request):
    """Keep the subscription a browser posts (``PushSubscription.toJSON()``) for the user."""
    try:
        subscription = parse_subscription(request.body)
    except ValidationError as error:
        return JsonResponse({"error": error.messages[0]}, status=400)
    if push_backend() is None:
        return JsonResponse({"error": "browser push is not configured"}, status=404)
    most = conf.get("NOTIFY_MAX_PUSH_SUBSCRIPTIONS")
    if other_browsers(request.user, subscription["endpoint"]) >= most:
        return JsonResponse(
            {
                "error": f"{most} browsers already get push notifications for you, the most you may have; "
                "turn them off in one of those first"
            },
            status=403,
        )
    try:
        keep_subscription(request, subscription)
    except IntegrityError:
        # Another account has this endpoint: a browser where someone else subscribed, or a
        # stolen endpoint. It stays theirs; push.js subscribes this browser afresh (a new
        # endpoint) for the account signed in now.
        return JsonResponse(
            {"error": "this browser's subscription belongs to another account; subscribe it afresh"},
            status=409,
        )
    return JsonResponse({"subscribed": True}, status=201)


def other_browsers(user, endpoint):
    """How many browsers other than ``endpoint``'s the user has subscribed: a browser already
    kept may always post again."""
    return PushSubscription.objects.filter(user=user).exclude(endpoint=endpoint).count()


def keep_subscription(request, subscription):
    """Save or refresh the user's own subscription of this endpoint; ``IntegrityError`` when
    the endpoint is another user's (it is unique, and the lookup is by endpoint and user)."""
    with transaction.atomic():
        PushSubscription.objects.update_or_create(
            endpoint=subscription["endpoint"],
            user=request.user,
            defaults={
                "p256dh": subscription["p256dh"],
                "auth": subscription["auth"],
                "user_agent": request.headers.get("User-Agent", "")[:255],
            },
        )


@deny_framing
@login_required
@require_POST
def push_unsubscribe(request):
    try:
        endpoint = json.loads(request.body)["endpoint"]
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": 'expected {"endpoint": …}'}, status=400)
    PushSubscription.objects.filter(user=request.user, endpoint=endpoint).delete()
    return JsonResponse({"subscribed": False})


def parse_subscription(body):
    """``{"endpoint", "p256dh", "auth"}`` of a posted subscription, or ``ValidationError``."""
    try:
        document = json.loads(body)
        endpoint, keys = document["endpoint"], document["keys"]
        p256dh, auth = keys["p256dh"], keys["auth"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValidationError('expected {"endpoint": …, "keys": {"p256dh": …, "auth": …}}') from error
    if not isinstance(endpoint, str) or len(endpoint) > 2048:
        raise ValidationError("the endpoint is not an https URL")
    PUSH_ENDPOINT(endpoint)
    reason = url_refusal(endpoint)
    if reason:
        raise ValidationError(f"the endpoint leads to {reason}")
    if len(decode_key(p256dh)) != P256DH_BYTES or len(decode_key(auth)) != AUTH_BYTES:
        raise ValidationError("the subscription's keys have the wrong length")
    return {"endpoint": endpoint, "p256dh": p256dh, "auth": auth}


def decode_key(value):
    if not isinstance(value, str) or len(value) > 255:
        raise ValidationError("the subscription's keys are not base64url")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValidationError("the subscription's keys are not base64url") from error
