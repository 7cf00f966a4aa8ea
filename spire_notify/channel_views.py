"""The optional channels' pages: a user's own Apprise URLs, and their browsers' push
subscriptions. Both are secrets of the user: only ever shown masked, changed by POST only.

Both are also the user's input to a server that will send requests to them: an Apprise URL must
be of a service users may add, may not set the request's method or headers, and, like a push
endpoint, may lead to public addresses only (``spire_notify.destinations``). A user keeps a
bounded number of each, and a browser's subscription never moves from one account to another.
"""

import base64
import binascii
import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from spire_notify import conf
from spire_notify.backends.apprise import AppriseBackend, user_url_refusal, validate_apprise_url
from spire_notify.backends.webpush import WebPushBackend
from spire_notify.destinations import url_refusal
from spire_notify.framing import deny_framing
from spire_notify.handler import notify_backends
from spire_notify.models import AppriseAddress, PushSubscription

# The lengths of a P-256 public key (uncompressed point) and of a Web Push auth secret.
P256DH_BYTES = 65
AUTH_BYTES = 16
PUSH_ENDPOINT = URLValidator(schemes=["https"])


def configured(backend_class):
    """The configured backends that are ``backend_class``es."""
    return [backend for backend in notify_backends.all() if isinstance(backend, backend_class)]


def per_user_apprise_enabled():
    return any(not backend.bulk for backend in configured(AppriseBackend))


def push_backend():
    """The first Web Push backend configured, or ``None``."""
    return next(iter(configured(WebPushBackend)), None)


class AppriseAddressForm(forms.Form):
    url = forms.CharField(
        label="Apprise URL",
        max_length=2000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="For example ntfy://ntfy.sh/your-secret-topic or discord://webhook_id/webhook_token.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_url(self):
        most = conf.get("NOTIFY_MAX_APPRISE_ADDRESSES")
        if AppriseAddress.objects.filter(user=self.user).count() >= most:
            raise ValidationError(f"You have {most} chat addresses, the most you may keep; remove one first.")
        url = self.cleaned_data["url"].strip()
        if not validate_apprise_url(url):
            raise ValidationError("Apprise does not recognise this URL; check its scheme and form.")
        refusal = user_url_refusal(url)
        if refusal:
            raise ValidationError(f"This address cannot be added: {refusal}.")
        return url


def channels_context(request, apprise_form=None):
    """What ``spire_notify/channels_section.html`` shows; a preferences page that embeds the
    section adds this to its own context."""
    push = push_backend()
    return {
        "apprise_enabled": per_user_apprise_enabled(),
        "apprise_addresses": AppriseAddress.objects.filter(user=request.user),
        "apprise_form": apprise_form or AppriseAddressForm(user=request.user),
        "push_enabled": push is not None,
        "push_browsers": PushSubscription.objects.filter(user=request.user).count() if push else 0,
        **push_button_context(push),
    }


def push_button_context(push):
    """What ``spire_notify/push_button.html`` needs; nothing to show without a push backend."""
    return {
        "push_key": push.application_server_key() if push else "",
        "push_subscription_url": reverse("spire_notify:push_subscription"),
    }


@deny_framing
@login_required
def channels(request):
    """The user's chat URLs (add, remove) and browser push status."""
    form = None
    if request.method == "POST":
        form = AppriseAddressForm(request.POST, user=request.user)
        if per_user_apprise_enabled() and form.is_valid():
            AppriseAddress.objects.create(user=request.user, url=form.cleaned_data["url"])
            messages.success(request, "Chat address added.")
            return HttpResponseRedirect(reverse("spire_notify:channels"))
    return render(request, "spire_notify/channels.html", channels_context(request, form))


@deny_framing
@login_required
@require_POST
def delete_apprise_address(request, pk):
    # Only the user's own; removing one already gone (a second click) is no error.
    if AppriseAddress.objects.filter(pk=pk, user=request.user).delete()[0]:
        messages.success(request, "Chat address removed.")
    return HttpResponseRedirect(reverse("spire_notify:channels"))


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
