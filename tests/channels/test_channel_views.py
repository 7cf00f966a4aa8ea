"""The channels page (a user's own Apprise URLs) and the push subscription endpoint."""

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client, modify_settings, override_settings

from spire_notify.channels.apprise.models import AppriseAddress
from spire_notify.channels.webpush.models import PushSubscription

pytestmark = pytest.mark.django_db

# On loopback, which the test settings let users' URLs reach: a public name would be resolved.
SECRET_TOPIC = "ntfy://127.0.0.1:9/ada-secret-topic-4f9c2e"
ENDPOINT = "https://127.0.0.1:9/send/abc123"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def channels_on(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    settings.NOTIFY_BACKENDS = {
        "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
        "chat": {
            "BACKEND": "spire_notify.channels.apprise.backend.AppriseBackend",
            "OPTIONS": {"domain": "example.com"},
        },
        "push": {
            "BACKEND": "spire_notify.channels.webpush.backend.WebPushBackend",
            "OPTIONS": {"vapid_private_key": pem.decode(), "vapid_subject": "mailto:ops@example.com"},
        },
    }


@pytest.fixture
def ada(make_user, client):
    user = make_user("ada")
    client.force_login(user)
    return user


def subscription(endpoint=ENDPOINT):
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
    assert list(PushSubscription.objects.values_list("user__username", "endpoint")) == [("ada", ENDPOINT)]


def post_subscription(client, document):
    return client.post("/notifications/push/subscription/", document, content_type="application/json")


def test_a_browser_that_subscribes_again_refreshes_its_row(channels_on, ada, client):
    assert post_subscription(client, subscription()).status_code == 201
    again = subscription()

    assert post_subscription(client, again).status_code == 201

    assert list(PushSubscription.objects.values_list("user__username", "auth")) == [
        ("ada", again["keys"]["auth"])
    ]
    client.post("/notifications/push/unsubscribe/", {"endpoint": ENDPOINT}, content_type="application/json")
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize("same_keys", [False, True])
def test_another_users_endpoint_stays_theirs(channels_on, ada, client, make_user, same_keys):
    adas_browser = subscription()
    post_subscription(client, adas_browser)
    client.force_login(make_user("grace"))

    response = post_subscription(client, adas_browser if same_keys else subscription())

    assert (response.status_code, response.json()) == (
        409,
        {"error": "this browser's subscription belongs to another account; subscribe it afresh"},
    )
    assert list(PushSubscription.objects.values_list("user__username", "p256dh", "auth")) == [
        ("ada", adas_browser["keys"]["p256dh"], adas_browser["keys"]["auth"])
    ]


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({"endpoint": "http://127.0.0.1:9/x", "keys": subscription()["keys"]}, "Enter a valid URL."),
        (
            {"endpoint": "https://127.0.0.1:9/x", "keys": {"p256dh": "AAAA", "auth": "AAAA"}},
            "the subscription's keys have the wrong length",
        ),
        (
            {"endpoint": "https://127.0.0.1:9/x"},
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


# -- what users may make the server reach (issue 18, item 2) ---------------------------------


@pytest.mark.parametrize(
    ("url", "error"),
    [
        (
            "json://127.0.0.1:8000/internal/admin/delete-everything?method=DELETE&+X-Internal-Auth=forged",
            "This address cannot be added: json:// is not among the services users may add.",
        ),
        (
            "form://169.254.169.254/latest/meta-data/iam",
            "This address cannot be added: form:// is not among the services users may add.",
        ),
        (
            "ntfy://169.254.169.254/latest-meta-data",
            "This address cannot be added: it leads to 169.254.169.254, a link-local address.",
        ),
        (
            "ntfy://localhost:8000/ada-topic",
            "This address cannot be added: it leads to 127.0.0.1, a loopback address.",
        ),
        (
            "ntfys://2130706433/ada-topic",
            "This address cannot be added: it leads to 127.0.0.1, a loopback address.",
        ),
        (
            "ntfy://0x7f.1/ada-topic",
            "This address cannot be added: it leads to 127.0.0.1, a loopback address.",
        ),
        (
            "ntfy://[::ffff:10.0.0.7]/ada-topic",
            "This address cannot be added: it leads to ::ffff:a00:7 (10.0.0.7), a private address.",
        ),
        (
            "ntfy://[fd00::7]/ada-topic",
            "This address cannot be added: it leads to fd00::7, a private address.",
        ),
    ],
)
def test_an_address_that_reaches_inside_is_refused_when_saved(channels_on, ada, client, settings, url, error):
    settings.NOTIFY_ALLOWED_PRIVATE_NETWORKS = []

    response = client.post("/notifications/channels/", {"url": url})

    assert response.status_code == 200
    assert error in response.content.decode().replace("&#x27;", "'")
    assert not AppriseAddress.objects.exists()


def test_request_shaping_parameters_are_refused_where_the_project_allows_json(
    channels_on, ada, client, settings
):
    settings.NOTIFY_APPRISE_USER_SCHEMES = ["json"]

    response = client.post(
        "/notifications/channels/", {"url": "json://127.0.0.1:8000/hook?method=DELETE&-version"}
    )

    assert (
        "This address cannot be added: it sets the request&#x27;s method or headers (-version, method)."
        in response.content.decode()
    )
    assert not AppriseAddress.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        # A bot id that reads as 10.33.254.128, a webhook id as 0.1.226.64: ids, not hosts.
        "tgram://170000000:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/12345",
        "discord://123456/abcdefghijklmnopqrstuvwxyz0123456789",
    ],
)
def test_services_that_post_to_their_own_api_are_not_judged_by_their_ids(
    channels_on, ada, client, settings, url
):
    settings.NOTIFY_ALLOWED_PRIVATE_NETWORKS = []

    client.post("/notifications/channels/", {"url": url})

    assert list(AppriseAddress.objects.values_list("url", flat=True)) == [url]


def test_a_private_network_the_project_allows_may_be_saved(channels_on, ada, client, settings):
    settings.NOTIFY_ALLOWED_PRIVATE_NETWORKS = ["10.0.0.0/8"]

    client.post("/notifications/channels/", {"url": "ntfy://10.1.2.3/lan-topic"})

    assert list(AppriseAddress.objects.values_list("url", flat=True)) == ["ntfy://10.1.2.3/lan-topic"]


def test_a_user_keeps_at_most_the_set_number_of_addresses(channels_on, ada, client, settings):
    settings.NOTIFY_MAX_APPRISE_ADDRESSES = 2
    for topic in ("one-topic", "two-topic", "three-topic"):
        response = client.post("/notifications/channels/", {"url": f"ntfy://127.0.0.1:9/{topic}"})

    assert "You have 2 chat addresses, the most you may keep; remove one first." in response.content.decode()
    assert AppriseAddress.objects.filter(user=ada).count() == 2


@pytest.mark.parametrize(
    ("endpoint", "error"),
    [
        ("https://127.0.0.1/push/x", "the endpoint leads to 127.0.0.1, a loopback address"),
        ("https://[::1]/push/x", "the endpoint leads to ::1, a loopback address"),
        ("https://169.254.169.254/latest", "the endpoint leads to 169.254.169.254, a link-local address"),
        ("https://localhost/push/x", "the endpoint leads to 127.0.0.1, a loopback address"),
    ],
)
def test_an_endpoint_that_reaches_inside_is_refused(channels_on, ada, client, settings, endpoint, error):
    settings.NOTIFY_ALLOWED_PRIVATE_NETWORKS = []

    response = post_subscription(client, subscription(endpoint))

    assert (response.status_code, response.json()) == (400, {"error": error})
    assert not PushSubscription.objects.exists()


def test_a_user_keeps_at_most_the_set_number_of_browsers(channels_on, ada, client, settings):
    settings.NOTIFY_MAX_PUSH_SUBSCRIPTIONS = 2
    first, second = subscription(f"{ENDPOINT}/1"), subscription(f"{ENDPOINT}/2")
    assert [post_subscription(client, document).status_code for document in (first, second)] == [201, 201]

    response = post_subscription(client, subscription(f"{ENDPOINT}/3"))

    assert (response.status_code, response.json()) == (
        403,
        {
            "error": "2 browsers already get push notifications for you, the most you may have; "
            "turn them off in one of those first"
        },
    )
    assert post_subscription(client, first).status_code == 201  # a browser already kept renews
    assert PushSubscription.objects.filter(user=ada).count() == 2


@pytest.mark.django_db
@modify_settings(
    INSTALLED_APPS={
        "remove": [
            "spire_notify.channels.apprise",
            "spire_notify.channels.webpush",
            "spire_notify.channels.live",
            "spire_notify.channels.webhook",
        ]
    }
)
@override_settings(
    NOTIFY_BACKENDS={
        "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
        "email": {"BACKEND": "spire_notify.channels.email.backend.EmailBackend"},
    }
)
def test_a_project_with_only_the_inbox_and_email_has_its_pages(ada, client):
    inbox = client.get("/notifications/").content.decode()
    assert "Chat and browser alerts" not in inbox
    assert "live.js" not in inbox and "push.js" not in inbox
    assert '<script src="/static/spire_notify/badge.js" defer></script>' in inbox
    channels = client.get("/notifications/channels/")
    assert channels.status_code == 200
    assert "Nothing to set up" in channels.content.decode()
    assert client.get("/notifications/preferences/").status_code == 200
