"""The Web Push backend against a push endpoint on 127.0.0.1: the test plays the browser (its
own P-256 key pair and auth secret) and the push service (it checks the VAPID signature and
decrypts the aes128gcm payload with the browser's private key)."""

import base64
import contextlib
import hashlib
import json
import logging
import os
import time
from datetime import timedelta
from types import SimpleNamespace

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.contrib.auth import get_user_model
from django.test import override_settings

from spire_notify import Message, Recipient, clock, notify
from spire_notify.backends.base import Delivery, Outcome, OutcomeStatus
from spire_notify.channels.webpush import backend as webpush_module
from spire_notify.channels.webpush.backend import WebPushBackend
from spire_notify.channels.webpush.models import PushSubscription
from spire_notify.models import DestinationReceipt, Notification
from spire_notify.testing import BackendContract
from spire_notify.worker.process import process_notifications
from tests.support.local_http import RecordingServer, Reply, SilentServer

TICKET = Message(
    event="desk.ticket.new",  # a type of its own: the help desk's types default to app and email
    title="New Help Desk Ticket #7",
    body="Priority: High - Purpose: App",
    path="/help_desk/page/7/detail/",
)
SUBJECT = "mailto:ops@example.com"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_point(private_key):
    return private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def pem(private_key):
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class Browser:
    """What a browser keeps of one push subscription: its key pair and auth secret."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def subscribe(self, user):
        return PushSubscription.objects.create(
            user=user,
            endpoint=self.endpoint,
            p256dh=b64url(public_point(self.private_key)),
            auth=b64url(self.auth),
        )

    def decrypt(self, body):
        return json.loads(
            http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
        )


def verify_vapid(request, server_public_point, audience):
    """The push service's check of the Authorization header: an ES256 JWT for this origin."""
    scheme, _, parameters = request.headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in parameters.split(","))
    assert b64url_decode(fields["k"]) == server_public_point
    header, claims, signature = fields["t"].split(".")
    raw = b64url_decode(signature)
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_public_point)
    public_key.verify(
        encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:])),
        f"{header}.{claims}".encode(),
        ec.ECDSA(hashes.SHA256()),
    )
    decoded = json.loads(b64url_decode(claims))
    assert decoded["aud"] == audience
    assert decoded["sub"] == SUBJECT


@pytest.fixture
def push_service():
    with RecordingServer() as server:
        yield server


@pytest.fixture
def server_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def push_settings(server_key):
    return {
        "push": {
            "BACKEND": "spire_notify.channels.webpush.backend.WebPushBackend",
            "OPTIONS": {"vapid_private_key": pem(server_key), "vapid_subject": SUBJECT},
        }
    }


def test_renders_title_short_body_and_relative_url_as_json():
    backend = WebPushBackend(alias="push", vapid_private_key="", vapid_subject=SUBJECT)

    rendered = backend.render(TICKET, Recipient(user_id=1))

    assert rendered.url == "/help_desk/page/7/detail/"
    assert json.loads(rendered.content) == {
        "title": "New Help Desk Ticket #7",
        "body": "Priority: High - Purpose: App",
        "url": "/help_desk/page/7/detail/",
    }


@pytest.mark.django_db
def test_every_browser_of_the_user_gets_the_encrypted_push(
    push_service, push_settings, server_key, make_user
):
    ada = make_user("ada")
    laptop = Browser(f"http://{push_service.origin}/push/laptop")
    phone = Browser(f"http://{push_service.origin}/push/phone")
    laptop.subscribe(ada)
    phone.subscribe(ada)
    with override_settings(NOTIFY_BACKENDS=push_settings):
        notify(TICKET, {ada: ["push"]})
        counts = process_notifications()

    assert counts["sent"] == 1
    assert Notification.objects.get().status == "sent"
    by_path = {request.path: request for request in push_service.received}
    assert sorted(by_path) == ["/push/laptop", "/push/phone"]
    for path, browser in (("/push/laptop", laptop), ("/push/phone", phone)):
        request = by_path[path]
        assert request.headers["content-encoding"] == "aes128gcm"
        assert request.headers["ttl"] == "86400"
        verify_vapid(request, public_point(server_key), f"http://{push_service.origin}")
        assert browser.decrypt(request.body) == {
            "title": "New Help Desk Ticket #7",
            "body": "Priority: High - Purpose: App",
            "url": "/help_desk/page/7/detail/",
        }


@pytest.mark.django_db
@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_deleted_and_its_only_row_fails_for_good(
    status, push_service, push_settings, make_user
):
    push_service.replies["/push/gone"] = Reply(status=status)
    ada, grace = make_user("ada"), make_user("grace")
    Browser(f"http://{push_service.origin}/push/gone").subscribe(ada)
    Browser(f"http://{push_service.origin}/push/gone-too").subscribe(grace)
    Browser(f"http://{push_service.origin}/push/fine").subscribe(grace)
    with override_settings(NOTIFY_BACKENDS=push_settings):
        notify(TICKET, {ada: ["push"], grace: ["push"]})
        process_notifications()

    assert Notification.objects.get(user=ada).status == "failed"
    assert Notification.objects.get(user=ada).last_error == (
        "the push service says the subscription is gone (404/410); deleted it"
    )
    # grace's other browser took it: her row is sent, her gone browser is forgotten.
    assert Notification.objects.get(user=grace).status == "sent"
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [
        f"http://{push_service.origin}/push/fine"
    ]


@pytest.mark.django_db
def test_server_errors_are_retried_and_a_user_without_browsers_is_skipped(
    push_service, push_settings, make_user
):
    push_service.replies["/push/busy"] = Reply(status=503)
    ada, grace = make_user("ada"), make_user("grace")
    Browser(f"http://{push_service.origin}/push/busy").subscribe(ada)
    with override_settings(NOTIFY_BACKENDS=push_settings):
        notify(TICKET, {ada: ["push"], grace: ["push"]})
        process_notifications()

    ada_row = Notification.objects.get(user=ada)
    assert (ada_row.status, ada_row.last_error.split(":")[0]) == ("errored", "pywebpush.WebPushException")
    assert "503" in ada_row.last_error
    assert PushSubscription.objects.filter(user=ada).exists()
    grace_row = Notification.objects.get(user=grace)
    assert (grace_row.status, grace_row.last_error) == (
        "skipped",
        "the user has no browser subscribed to push",
    )


@pytest.mark.django_db
def test_a_429_from_the_push_service_throttles_the_row_for_its_retry_after_and_keeps_the_others_receipts(
    push_service, push_settings, make_user
):
    push_service.replies["/push/busy"] = Reply(status=429, headers={"Retry-After": "90"})
    ada = make_user("ada")
    Browser(f"http://{push_service.origin}/push/fine").subscribe(ada)
    Browser(f"http://{push_service.origin}/push/busy").subscribe(ada)
    with override_settings(NOTIFY_BACKENDS=push_settings):
        [row] = notify(TICKET, {ada: ["push"]})
        before = clock.now()
        assert process_notifications()["throttled"] == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.throttles) == ("pending", 0, 1)
    assert "429" in row.last_error
    assert before + timedelta(seconds=90) <= row.next_attempt_at <= clock.now() + timedelta(seconds=90)
    # The browser that took it is not sent it again on the retry.
    assert len(DestinationReceipt.objects.by_notification([row.pk])[row.pk]) == 1


@pytest.mark.django_db
def test_a_push_service_that_is_down_is_a_temporary_failure(push_settings, server_key, make_user):
    ada = make_user("ada")
    with RecordingServer() as closed:
        endpoint = f"http://{closed.origin}/push/x"
    Browser(endpoint).subscribe(ada)
    backend = WebPushBackend(alias="push", vapid_private_key=pem(server_key), vapid_subject=SUBJECT)
    rendered = backend.render(TICKET, Recipient(user_id=ada.pk))

    [outcome] = backend.send(
        [Delivery(notification=SimpleNamespace(pk=1, user_id=ada.pk), rendered=rendered)]
    )

    assert outcome.status is OutcomeStatus.TEMPORARY
    assert outcome.error.startswith("requests.exceptions.ConnectionError")


def test_the_application_server_key_is_the_public_half_of_the_vapid_key(server_key):
    backend = WebPushBackend(alias="push", vapid_private_key=pem(server_key), vapid_subject=SUBJECT)

    assert b64url_decode(backend.application_server_key()) == public_point(server_key)


def test_checks_name_a_missing_extra_and_bad_keys(monkeypatch):
    backend = WebPushBackend(alias="push", vapid_private_key="not a key", vapid_subject="ops@example.com")

    errors = backend.check()

    assert [error.id for error in errors] == ["spire_notify.E061", "spire_notify.E062"]
    assert errors[1].msg == (
        "NOTIFY_BACKENDS['push']: 'vapid_subject' must be a mailto: or https: URL, not 'ops@example.com'."
    )
    monkeypatch.setattr(webpush_module, "webpush", None)
    assert [(error.id, error.hint) for error in backend.check()] == [
        ("spire_notify.E060", "pip install 'spire-notify[webpush]'")
    ]


@pytest.mark.django_db
class TestWebPushContract(BackendContract):
    backend_class = WebPushBackend
    server_key = ec.generate_private_key(ec.SECP256R1())
    options = {"vapid_private_key": pem(server_key), "vapid_subject": SUBJECT}
    recipients = []

    def make_recipients(self):
        return self.recipients

    def make_notification(self, pk, recipient):
        return SimpleNamespace(pk=pk, user_id=recipient.user_id)

    def subscribed_users(self, origin):
        self.recipients = []
        for name in ("ada", "grace", "linus"):
            user = get_user_model().objects.create_user(name)
            Browser(f"http://{origin}/push/{name}").subscribe(user)
            self.recipients.append(Recipient(user_id=user.pk))

    @contextlib.contextmanager
    def working_transport(self):
        with RecordingServer() as push_service:
            PushSubscription.objects.all().delete()
            get_user_model().objects.all().delete()
            self.subscribed_users(push_service.origin)
            yield {}

    @contextlib.contextmanager
    def broken_transport(self):
        with RecordingServer() as closed:
            origin = closed.origin
        self.subscribed_users(origin)
        yield {}


# -- endpoints may not reach internal hosts (issue 18, item 2) -----------------------------


def push_to(push_settings, user):
    with override_settings(NOTIFY_BACKENDS=push_settings):
        notify(TICKET, {user: ["push"]})
        return {status: count for status, count in process_notifications().items() if count}


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
@override_settings(NOTIFY_ALLOWED_PRIVATE_NETWORKS=[])
def test_a_saved_endpoint_on_an_internal_host_is_refused_when_pushing(host, push_settings, make_user):
    ada = make_user("ada")
    with RecordingServer() as internal_host:
        port = internal_host.origin.rsplit(":", 1)[1]
        Browser(f"http://{host}:{port}/internal/admin/delete-everything").subscribe(ada)
        counts = push_to(push_settings, ada)

    assert internal_host.received == []
    assert counts == {"failed": 1}
    shown = "::ffff:7f00:1 (127.0.0.1)" if host.startswith("[") else "127.0.0.1"
    assert Notification.objects.get().last_error == (
        f"refused the push endpoint http://••••hing: it leads to {shown}, a loopback address"
    )


@pytest.mark.django_db
@override_settings(NOTIFY_ALLOWED_PRIVATE_NETWORKS=["127.0.0.2/32"])
def test_a_push_service_that_redirects_inward_is_refused_at_the_connection(push_settings, make_user):
    ada = make_user("ada")
    with RecordingServer() as internal_host, RecordingServer(host="127.0.0.2") as push_service:
        push_service.replies["/push"] = Reply(
            status=307, headers={"Location": f"http://{internal_host.origin}/internal/admin"}
        )
        Browser(f"http://{push_service.origin}/push/ada-laptop").subscribe(ada)
        counts = push_to(push_settings, ada)

    assert len(push_service.received) == 1
    assert internal_host.received == []
    assert counts == {"failed": 1}
    assert Notification.objects.get().last_error == (
        "refused the push endpoint http://••••ptop: refused a connection to 127.0.0.1, a loopback address"
    )


# -- no secret of an endpoint in recorded errors or logs (issue 18, item 6) -------------------

ENDPOINT_TOKEN = "fcm-token-6b2d0e8a41c7"


@pytest.mark.django_db
def test_an_endpoint_that_cannot_be_reached_is_masked_in_last_error_and_in_the_logs(
    push_settings, make_user, caplog
):
    ada = make_user("ada")
    with RecordingServer() as closed:
        origin = closed.origin
    Browser(f"http://{origin}/push/{ENDPOINT_TOKEN}").subscribe(ada)
    caplog.set_level(logging.DEBUG)

    counts = push_to(push_settings, ada)

    assert counts == {"errored": 1}
    last_error = Notification.objects.get().last_error
    assert last_error.startswith("requests.exceptions.ConnectionError: ")
    assert "Max retries exceeded with url: /••••/•••• " in last_error
    assert ENDPOINT_TOKEN not in last_error
    assert caplog.records
    assert ENDPOINT_TOKEN not in "\n".join(
        record.getMessage() + (record.exc_text or "") for record in caplog.records
    )


@pytest.mark.django_db
def test_a_failing_push_service_is_masked_in_the_logs(push_service, push_settings, make_user, caplog):
    push_service.replies["/push"] = Reply(status=503, body=b"busy")
    ada = make_user("ada")
    Browser(f"http://{push_service.origin}/push/{ENDPOINT_TOKEN}").subscribe(ada)
    caplog.set_level(logging.DEBUG)

    counts = push_to(push_settings, ada)

    assert counts == {"errored": 1}
    assert Notification.objects.get().last_error == (
        "pywebpush.WebPushException: WebPushException: Push failed: 503 Service Unavailable"
    )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert '"POST /••••/•••• HTTP/1.1" 503' in logged
    assert ENDPOINT_TOKEN not in logged


# -- a row to many browsers (issue 18, items 3 and 4) -----------------------------------------


def hanging_settings(push_settings, timeout):
    return {
        "push": {**push_settings["push"], "OPTIONS": {**push_settings["push"]["OPTIONS"], "timeout": timeout}}
    }


@pytest.mark.django_db
@override_settings(NOTIFY_RETRY_BASE_DELAY=0)
def test_one_bad_subscription_stays_with_its_own_browser_and_gone_ones_are_deleted(
    push_service, push_settings, make_user
):
    push_service.replies["/push/not-found"] = Reply(status=404)
    push_service.replies["/push/revoked"] = Reply(status=410)
    ada = make_user("ada")
    Browser(f"http://{push_service.origin}/push/healthy").subscribe(ada)
    # No VAPID audience can be made of a bracketed host: py_vapid raises VapidException.
    Browser(f"http://[::1]:{push_service.httpd.server_address[1]}/push/unsignable").subscribe(ada)
    Browser(f"http://{push_service.origin}/push/not-found").subscribe(ada)
    Browser(f"http://{push_service.origin}/push/revoked").subscribe(ada)
    with override_settings(NOTIFY_BACKENDS=push_settings):
        notify(TICKET, {ada: ["push"]})
        # Retries are due at once: a worker run per attempt the row may get.
        runs = [process_notifications() for _ in range(5)]

    pushes = [request.path for request in push_service.received]
    print(f"\n[item 4] pushes to the healthy browser: {pushes.count('/push/healthy')}, runs {runs}")
    assert pushes.count("/push/healthy") == 1
    row = Notification.objects.get()
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    healthy = f"http://127.0.0.1:{push_service.httpd.server_address[1]}/push/healthy"
    assert sorted(PushSubscription.objects.values_list("endpoint", flat=True)) == [
        healthy,
        f"http://[::1]:{push_service.httpd.server_address[1]}/push/unsignable",
    ]
    # What the retry would read: the healthy browser took it, kept by a digest of its endpoint.
    assert list(row.destination_receipts.values_list("destination", flat=True)) == [
        hashlib.sha256(healthy.encode()).hexdigest()
    ]


@pytest.mark.django_db
@override_settings(NOTIFY_RETRY_BASE_DELAY=0, NOTIFY_MAX_ATTEMPTS=3)
def test_a_retry_goes_only_to_the_browsers_that_did_not_take_the_row(push_service, push_settings, make_user):
    push_service.replies["/push/busy"] = Reply(status=503)
    ada = make_user("ada")
    Browser(f"http://{push_service.origin}/push/laptop").subscribe(ada)
    Browser(f"http://{push_service.origin}/push/busy").subscribe(ada)
    with override_settings(NOTIFY_BACKENDS=push_settings):
        notify(TICKET, {ada: ["push"]})
        for _ in range(3):
            process_notifications()

    pushes = [request.path for request in push_service.received]
    assert (pushes.count("/push/laptop"), pushes.count("/push/busy")) == (1, 3)
    row = Notification.objects.get()
    assert (row.status, row.attempts) == ("failed", 3)
    assert (
        row.last_error == "pywebpush.WebPushException: WebPushException: Push failed: 503 Service Unavailable"
    )


@pytest.mark.django_db
@override_settings(NOTIFY_DELIVERY_DEADLINE_SECONDS=1)
def test_a_row_to_many_hanging_browsers_ends_by_its_deadline(push_settings, make_user):
    ada = make_user("ada")
    with SilentServer() as hanging:
        for number in range(20):
            Browser(f"http://{hanging.origin}/push/{number}").subscribe(ada)
        with override_settings(NOTIFY_BACKENDS=hanging_settings(push_settings, timeout=0.4)):
            notify(TICKET, {ada: ["push"]})
            started = time.monotonic()
            process_notifications()
            elapsed = time.monotonic() - started
        reached = hanging.connections

    print(f"\n[item 3] 20 hanging browsers, timeout 0.4s: the row took {elapsed:.2f}s, {reached} reached")
    assert elapsed < 1.5
    row = Notification.objects.get()
    assert (row.status, row.last_error) == (
        "errored",
        "requests.exceptions.ReadTimeout: HTTPConnectionPool(host='••••', port=••••): "
        "Read timed out. (read timeout=0.4); the delivery deadline (1s) passed before every "
        "destination was tried: the rest are tried on retry",
    )


@pytest.mark.django_db
def test_a_claim_that_lapses_between_browsers_withholds_the_rest_of_the_row_and_batch(
    push_service, server_key, make_user
):
    ada, grace = make_user("ada"), make_user("grace")
    for name in ("laptop", "phone", "tablet"):
        Browser(f"http://{push_service.origin}/push/ada-{name}").subscribe(ada)
    Browser(f"http://{push_service.origin}/push/grace").subscribe(grace)
    backend = WebPushBackend(alias="push", vapid_private_key=pem(server_key), vapid_subject=SUBJECT)
    rendered = backend.render(TICKET, Recipient(user_id=ada.pk))
    deliveries = [
        Delivery(notification=SimpleNamespace(pk=1, user_id=ada.pk), rendered=rendered),
        Delivery(notification=SimpleNamespace(pk=2, user_id=grace.pk), rendered=rendered),
    ]

    # The worker's claim runs out once the first browser has the push.
    outcomes = backend.send(deliveries, guard=lambda delivery: "lapsed" if push_service.received else None)

    assert outcomes == [Outcome.not_sent("lapsed"), Outcome.not_sent("lapsed")]
    assert [request.path for request in push_service.received] == ["/push/ada-laptop"]


@pytest.mark.django_db
@pytest.mark.parametrize("users", [1, 4])
def test_the_browsers_of_a_whole_batch_are_loaded_in_one_query(
    users, push_service, server_key, make_user, django_assert_num_queries
):
    backend = WebPushBackend(alias="push", vapid_private_key=pem(server_key), vapid_subject=SUBJECT)
    rendered = backend.render(TICKET, Recipient(user_id=1))
    deliveries = []
    for number in range(users):
        user = make_user(f"user{number}")
        Browser(f"http://{push_service.origin}/push/{number}-laptop").subscribe(user)
        Browser(f"http://{push_service.origin}/push/{number}-phone").subscribe(user)
        deliveries.append(
            Delivery(notification=SimpleNamespace(pk=number + 1, user_id=user.pk), rendered=rendered)
        )

    with django_assert_num_queries(1):
        outcomes = backend.send(deliveries)

    assert outcomes == [Outcome.success()] * users
    assert len(push_service.received) == 2 * users


@pytest.mark.django_db
@override_settings(NOTIFY_DELIVERY_DEADLINE_SECONDS=1, NOTIFY_RETRY_BASE_DELAY=0)
def test_retries_reach_the_browsers_behind_ones_that_never_answer(push_service, push_settings, make_user):
    ada = make_user("ada")
    with SilentServer() as hanging:
        for number in range(4):
            Browser(f"http://{hanging.origin}/push/{number}").subscribe(ada)
        Browser(f"http://{push_service.origin}/push/healthy").subscribe(ada)
        with override_settings(NOTIFY_BACKENDS=hanging_settings(push_settings, timeout=0.4)):
            notify(TICKET, {ada: ["push"]})
            # Two browsers that hang fit in one deadline: the third attempt gets to the healthy one.
            for _ in range(3):
                process_notifications()

    assert [request.path for request in push_service.received] == ["/push/healthy"]
    row = Notification.objects.get()
    assert (row.status, row.attempts) == ("errored", 3)
