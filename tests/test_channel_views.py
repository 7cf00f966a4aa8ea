"""The channels page (a user's own Apprise URLs) and the push subscription endpoint."""

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from spire_notify.models import AppriseAddress, PushSubscription

pytestmark = pytest.mark.django_db

SECRET_TOPIC = "ntfy://ntfy.sh/ada-secret-topic-4f9c2e"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def channels_on(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    settings.NOTIFY_BACKENDS = {
        "app": {"BACKEND": "spire_notify.backends.app.AppBackend"},
        "chat": {
            "BACKEND": "spire_notify.backends.apprise.AppriseBackend",
            "OPTIONS": {"domain": "example.com"},
        },
        "push": {
            "BACKEND": "spire_notify.backends.webpush.WebPushBackend",
            "OPTIONS": {"vapid_private_key": pem.decode(), "vapid_subject": "mailto:ops@example.com"},
        },
    }


@pytest.fixture
def ada(make_user, client):
    user = make_user("ada")
    client.force_login(user)
    return user


def subscription(endpoint="https://push.example.net/send/abc123"):
    return {
        "endpoint": endpoint,
        "keys": {"p256dh": b64url(b"\x04" + os.urandom(64)), "auth": b64url(os.urandom(16))},
    }


def test_an_address_apprise_accepts_is_kept_and_only_shown_masked(channels_on, ada, client):
    response = client.post("/notifications/channels/", {"url": f"  {SECRET_TOPIC} "}, follow=True)

    assert list(AppriseAddress.objects.values_list("user__username", "url")) == [("ada", SECRET_TOPIC)]
    page = response.content.decode()
    assert "ntfy://••••2e" not in page  # too short a tail to tell apart is not what is shown
    assert "ntfy://••••9c2e" in page
    assert "ada-secret-topic" not in page
    assert "Chat address added." in page
    assert response["X-Frame-Options"] == "DENY"


def test_an_address_apprise_rejects_is_not_kept(channels_on, ada, client):
    response = client.post("/notifications/channels/", {"url": "nosuchservice://whatever"})

    assert response.status_code == 200
    assert "Apprise does not recognise this URL; check its scheme and form." in response.content.decode()
    assert not AppriseAddress.objects.exists()


def test_a_user_removes_their_own_addresses_only(channels_on, ada, client, make_user):
    theirs = AppriseAddress.objects.create(user=make_user("grace"), url=SECRET_TOPIC)
    mine = AppriseAddress.objects.create(user=ada, url=SECRET_TOPIC)

    assert client.post(f"/notifications/channels/apprise/{theirs.pk}/delete/").status_code == 302
    assert client.get(f"/notifications/channels/apprise/{mine.pk}/delete/").status_code == 405
    assert client.post(f"/notifications/channels/apprise/{mine.pk}/delete/").status_code == 302
    assert list(AppriseAddress.objects.all()) == [theirs]


def test_the_inbox_offers_browser_notifications_and_the_channels_page(channels_on, ada, client):
    page = client.get("/notifications/").content.decode()

    assert "Enable browser notifications" in page
    assert 'href="/notifications/channels/"' in page
    assert "/static/spire_notify/push-sw.js" in page


def test_without_the_channels_the_inbox_offers_neither(ada, client):
    page = client.get("/notifications/").content.decode()

    assert "Enable browser notifications" not in page
    assert "/notifications/channels/" not in page


def test_a_posted_subscription_is_kept_for_the_signed_in_user(channels_on, ada, client):
    response = client.post(
        "/notifications/push/subscription/", subscription(), content_type="application/json"
    )

    assert response.status_code == 201
    assert response["X-Frame-Options"] == "DENY"
    assert list(PushSubscription.objects.values_list("user__username", "endpoint")) == [
        ("ada", "https://push.example.net/send/abc123")
    ]


def test_a_browser_that_subscribes_again_keeps_one_row_for_the_user_now_signed_in(
    channels_on, ada, client, make_user
):
    client.post("/notifications/push/subscription/", subscription(), content_type="application/json")
    client.force_login(make_user("grace"))
    client.post("/notifications/push/subscription/", subscription(), content_type="application/json")

    assert list(PushSubscription.objects.values_list("user__username", flat=True)) == ["grace"]

    client.post(
        "/notifications/push/unsubscribe/",
        {"endpoint": "https://push.example.net/send/abc123"},
        content_type="application/json",
    )
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({"endpoint": "http://push.example.net/x", "keys": subscription()["keys"]}, "Enter a valid URL."),
        (
            {"endpoint": "https://push.example.net/x", "keys": {"p256dh": "AAAA", "auth": "AAAA"}},
            "the subscription's keys have the wrong length",
        ),
        (
            {"endpoint": "https://push.example.net/x"},
            'expected {"endpoint": …, "keys": {"p256dh": …, "auth": …}}',
        ),
    ],
)
def test_a_malformed_subscription_is_refused(channels_on, ada, client, document, error):
    response = client.post("/notifications/push/subscription/", document, content_type="application/json")

    assert (response.status_code, response.json()) == (400, {"error": error})
    assert not PushSubscription.objects.exists()


def test_subscribing_needs_a_session_and_the_csrf_token(channels_on, make_user):
    anonymous = Client()
    response = anonymous.post(
        "/notifications/push/subscription/", subscription(), content_type="application/json"
    )
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(make_user("ada"))
    response = signed_in.post(
        "/notifications/push/subscription/", subscription(), content_type="application/json"
    )
    assert response.status_code == 403
    assert not PushSubscription.objects.exists()


def test_subscribing_without_a_push_backend_is_not_found(ada, client):
    response = client.post(
        "/notifications/push/subscription/", json.dumps(subscription()), content_type="application/json"
    )

    assert response.status_code == 404
