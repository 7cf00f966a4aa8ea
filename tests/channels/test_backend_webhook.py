"""The webhook backend against a real HTTP server on 127.0.0.1 that checks every signature."""

import base64
import json
import re
import resource
import socket
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from types import SimpleNamespace

import pytest
import standardwebhooks
from django.core.checks import Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from spire_notify import Message, Recipient, notify
from spire_notify.backends.base import Delivery, Outcome
from spire_notify.channels.webhook.backend import (
    MAX_REPLY_BYTES,
    InvalidWebhook,
    WebhookBackend,
    sign,
    verify,
)
from spire_notify.exceptions import InvalidNotifyBackend
from spire_notify.worker.process import process_notifications
from tests.support.local_http import DrippedReply, DrippingServer

SECRET = "whsec_" + base64.b64encode(b"a key shared with the receiver..").decode()
# What the docs showed before Standard Webhooks secrets: still signs, with a warning.
PLAIN_SECRET = "s3cret-shared-with-the-receiver"


class QuietHandler(BaseHTTPRequestHandler):
    """A receiver's common part: a reply with its length, and no request log on stderr."""

    def answer(self, status, text):
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        pass


class Receiver(QuietHandler):
    """A webhook receiver as its documentation tells one to write it: verify, then drop repeats."""

    protocol_version = "HTTP/1.1"  # keep-alive, so that one connection can carry a batch

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            webhook_id = verify(self.server.secret, self.headers, body)
        except InvalidWebhook as error:
            status, reply = 401, str(error)
        else:
            replayed = webhook_id in self.server.seen
            self.server.seen.add(webhook_id)
            self.server.received.append(
                {
                    "connection": self.client_address,
                    "id": webhook_id,
                    "replayed": replayed,
                    "document": json.loads(body),
                }
            )
            status, reply = self.server.replies.pop(0)
        self.answer(status, reply)


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.secret = SECRET
    server.received = []
    server.replies = []
    server.seen = set()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/notify?source=spire"
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def ticket_message(**fields):
    return Message(
        **{
            "event": "helpdesk.ticket.new",
            "title": "New Help Desk Ticket #7",
            "body": "Priority: High - Purpose: App",
            "path": "/help_desk/page/7/detail/",
            "priority": "High",
            "context": {"ticket_id": 7, "purpose": "App"},
        }
        | fields
    )


def deliveries(backend, count):
    recipient = Recipient(user_id=1, email="dev@example.com", name="Dev")
    rendered = backend.render(ticket_message(), recipient)
    return [Delivery(notification=SimpleNamespace(pk=pk), rendered=rendered) for pk in range(1, count + 1)]


def test_a_batch_is_posted_signed_over_one_connection(receiver):
    receiver.replies = [(200, "ok"), (204, ""), (200, "ok")]
    backend = WebhookBackend(alias="hook", url=receiver.url, secret=SECRET)

    outcomes = backend.send(deliveries(backend, 3))

    assert outcomes == [Outcome.success()] * 3
    assert [request["id"] for request in receiver.received] == [f"notification-{pk}" for pk in (1, 2, 3)]
    assert len({request["connection"] for request in receiver.received}) == 1
    assert receiver.received[0]["document"] == {
        "event": "helpdesk.ticket.new",
        "title": "New Help Desk Ticket #7",
        "body": "Priority: High - Purpose: App",
        "path": "/help_desk/page/7/detail/",
        "priority": "High",
        "target": None,
        "context": {"ticket_id": 7, "purpose": "App"},
        "recipient": {"user_id": 1, "email": "dev@example.com", "name": "Dev"},
    }


def test_server_errors_are_retried_429_is_throttled_and_client_errors_are_final(receiver):
    receiver.replies = [(503, "maintenance"), (404, ""), (429, "slow down"), (200, "ok")]
    backend = WebhookBackend(alias="hook", url=receiver.url, secret=SECRET)

    outcomes = backend.send(deliveries(backend, 4))

    assert outcomes == [
        Outcome.temporary("HTTP 503 Service Unavailable: maintenance"),
        Outcome.permanent_failure("HTTP 404 Not Found"),
        Outcome.throttled("HTTP 429 Too Many Requests: slow down"),
        Outcome.success(),
    ]
    assert len({request["connection"] for request in receiver.received}) == 1


def test_a_wrong_secret_is_refused_by_the_receiver(receiver):
    backend = WebhookBackend(alias="hook", url=receiver.url, secret="not-the-shared-one")

    outcomes = backend.send(deliveries(backend, 2))

    assert outcomes == [Outcome.permanent_failure("HTTP 401 Unauthorized: no signature matches")] * 2


def test_an_unreachable_receiver_fails_every_item_temporarily():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = WebhookBackend(alias="hook", url=f"http://127.0.0.1:{port}/", secret=SECRET)

    outcomes = backend.send(deliveries(backend, 2))

    assert outcomes == [Outcome.temporary("ConnectionRefusedError: [Errno 111] Connection refused")] * 2


def test_unknown_options_are_rejected_by_name():
    with pytest.raises(InvalidNotifyBackend) as raised:
        WebhookBackend(alias="hook", url="https://hooks.example.com/", secret=SECRET, retries=3)

    assert str(raised.value) == "NOTIFY_BACKENDS['hook']: unknown option 'retries'"


def test_check_requires_a_secret_and_an_http_url():
    backend = WebhookBackend(alias="hook", url="ftp://hooks.example.com/")

    assert [(error.id, error.msg) for error in backend.check()] == [
        (
            "spire_notify.E030",
            "NOTIFY_BACKENDS['hook']: the webhook has no 'secret'; receivers "
            "could not tell its requests from forged ones.",
        ),
        (
            "spire_notify.E031",
            "NOTIFY_BACKENDS['hook']: the webhook 'url' is not an http:// or https:// URL with a host.",
        ),
    ]
    with pytest.raises(ImproperlyConfigured, match=r"^spire_notify\.E030: "):
        backend.validate()


def test_check_reports_a_url_that_cannot_be_parsed_instead_of_failing():
    backend = WebhookBackend(alias="hook", url="https://[::1/notify", secret=SECRET)

    assert [(error.id, error.msg) for error in backend.check()] == [
        (
            "spire_notify.E031",
            "NOTIFY_BACKENDS['hook']: the webhook 'url' is not an http:// or https:// URL with a host.",
        )
    ]


def test_a_configured_webhook_passes_its_check():
    assert WebhookBackend(alias="hook", url="https://hooks.example.com/n", secret=SECRET).check() == []


@pytest.mark.django_db
def test_notify_delivers_through_the_webhook_channel(receiver, make_user, create_ticket):
    receiver.replies = [(200, "ok")]
    ticket = create_ticket()
    user = make_user("ops", is_superuser=True)  # delivery checks the user may still see the ticket
    hook = {
        "BACKEND": "spire_notify.channels.webhook.backend.WebhookBackend",
        "OPTIONS": {"url": receiver.url, "secret": SECRET},
    }
    with override_settings(NOTIFY_BACKENDS={"hook": hook}):
        # An event of its own: the help desk's types are declared for the app and email channels.
        message = replace(ticket.services.notification.build_message("new"), event="ops.ticket_filed")
        [notification] = notify(message, {user: ["hook"]})
        counts = process_notifications()

    notification.refresh_from_db()
    assert counts == {"sent": 1, "errored": 0, "failed": 0, "skipped": 0}
    assert (notification.status, notification.body) == ("sent", "Priority: High - Purpose: App")
    [request] = receiver.received
    assert request["id"] == f"notification-{notification.pk}"
    assert request["document"]["target"] == f"spire_helpdesk.helpdeskticket:{ticket.pk}"
    assert request["document"]["recipient"] == {"user_id": user.pk, "email": "ops@example.com", "name": ""}


json_values = st.none() | st.booleans() | st.integers() | st.text()


@given(
    title=st.text(min_size=1),
    body=st.text(),
    path=st.text(),
    context=st.dictionaries(st.text(), json_values, max_size=5),
    email=st.emails(),
    name=st.text(),
)
def test_render_is_a_json_image_of_the_message(title, body, path, context, email, name):
    backend = WebhookBackend(alias="hook", url="https://hooks.example.com/", secret=SECRET)
    message = ticket_message(title=title, body=body, path=path, context=context)
    recipient = Recipient(user_id=3, email=email, name=name)

    rendered = backend.render(message, recipient)
    document = json.loads(rendered.content)

    assert rendered.content == backend.render(message, recipient).content  # deterministic bytes
    assert (rendered.body, rendered.url) == (message.summary, path)
    assert document["title"] == title
    assert document["body"] == message.summary
    assert document["path"] == path
    assert document["context"] == context
    assert document["recipient"] == {"user_id": 3, "email": email, "name": name}


# Replays and forgeries (Standard Webhooks signing)


def signed_headers(webhook_id, timestamp, body, secret=SECRET):
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
    }


def test_the_signature_covers_the_id_and_the_timestamp_with_the_body():
    body, now = b'{"title":"x"}', 1_700_000_000
    headers = signed_headers("notification-7", now, body)
    assert verify(SECRET, headers, body, now=now) == "notification-7"
    tampered = [
        (headers | {"webhook-id": "notification-8"}, body),
        (headers | {"webhook-timestamp": str(now + 1)}, body),
        (headers, b'{"title":"y"}'),
        (signed_headers("notification-7", now, body, secret="another"), body),
    ]
    for forged_headers, forged_body in tampered:
        with pytest.raises(InvalidWebhook, match="^no signature matches$"):
            verify(SECRET, forged_headers, forged_body, now=now)


def test_a_stale_delivery_is_rejected_even_with_its_valid_signature():
    body, sent_at = b"{}", 1_700_000_000
    headers = signed_headers("notification-7", sent_at, body)
    assert verify(SECRET, headers, body, now=sent_at + 299) == "notification-7"
    with pytest.raises(InvalidWebhook, match="too old"):
        verify(SECRET, headers, body, now=sent_at + 301)


def test_a_replayed_request_is_recognised_by_the_receiver(receiver):
    """An attacker who captured a delivery sends it again, byte for byte: the receiver's verify()
    passes it (within the tolerance), and its id, the same as the original's, marks it a repeat."""
    import http.client
    from urllib.parse import urlsplit

    receiver.replies = [(200, "ok"), (200, "ok")]
    backend = WebhookBackend(alias="hook", url=receiver.url, secret=SECRET)
    [delivery] = deliveries(backend, 1)
    captured = {}

    class Recording(http.client.HTTPConnection):
        def request(self, method, url, body=None, headers=None, **kwargs):
            captured.update(path=url, body=body, headers=headers)
            return super().request(method, url, body=body, headers=headers, **kwargs)

    endpoint = backend.open()
    endpoint = type(endpoint)(Recording(endpoint.connection.host, endpoint.connection.port), endpoint.path)
    backend.send_one(endpoint, delivery)
    backend.close(endpoint)
    replay = http.client.HTTPConnection("127.0.0.1", urlsplit(receiver.url).port)
    replay.request("POST", captured["path"], body=captured["body"], headers=captured["headers"])
    assert replay.getresponse().status == 200
    assert [(request["id"], request["replayed"]) for request in receiver.received] == [
        ("notification-1", False),
        ("notification-1", True),
    ]


# Standard Webhooks receivers: the reference verifier


class ReferenceReceiver(QuietHandler):
    """A receiver as the Standard Webhooks specification tells one to write it: the reference
    library (``standardwebhooks`` on PyPI) verifies every request with ``server.secret``."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            document = standardwebhooks.Webhook(self.server.secret).verify(body, dict(self.headers))
        except standardwebhooks.WebhookVerificationError as error:
            status, reply = 401, str(error)
        else:
            self.server.verified.append(
                {"signature": self.headers["webhook-signature"], "document": document}
            )
            status, reply = 204, ""
        self.answer(status, reply)


@pytest.fixture
def reference_receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ReferenceReceiver)
    server.daemon_threads = True
    server.verified = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/standard"
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def new_secret():
    out = StringIO()
    call_command("webhook_secret", stdout=out)
    return out.getvalue()


def test_webhook_secret_prints_a_new_whsec_secret_of_32_random_bytes():
    printed = [new_secret() for _ in range(3)]

    for output in printed:
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=\n", output)
        assert len(base64.b64decode(output.strip().removeprefix("whsec_"), validate=True)) == 32
    assert len(set(printed)) == 3


def test_the_reference_verifier_accepts_requests_signed_with_a_generated_secret(reference_receiver):
    reference_receiver.secret = new_secret().strip()
    backend = WebhookBackend(alias="hook", url=reference_receiver.url, secret=reference_receiver.secret)
    batch = deliveries(backend, 2)

    assert backend.check() == []
    assert backend.send(batch) == [Outcome.success()] * 2
    assert [request["document"] for request in reference_receiver.verified] == [
        json.loads(delivery.rendered.content) for delivery in batch
    ]


def test_the_reference_verifier_accepts_an_unpadded_whsec_secret(reference_receiver):
    """Some providers print their secrets without base64 padding; the reference library pads."""
    key = b"a key of 25 bytes, padded"
    reference_receiver.secret = "whsec_" + base64.b64encode(key).decode().rstrip("=")
    backend = WebhookBackend(alias="hook", url=reference_receiver.url, secret=reference_receiver.secret)

    assert backend.check() == []
    assert backend.send(deliveries(backend, 1)) == [Outcome.success()]


def test_a_plain_secret_is_refused_by_the_reference_verifier_and_warned_about(reference_receiver):
    """A plain secret still signs as before (its UTF-8 bytes are the key), so receivers that
    verify with it keep working; spec-following ones base64-decode it and refuse everything."""
    reference_receiver.secret = "dev-only-webhook-secret"
    backend = WebhookBackend(alias="hook", url=reference_receiver.url, secret=reference_receiver.secret)

    outcomes = backend.send(deliveries(backend, 2))

    assert outcomes == [Outcome.permanent_failure("HTTP 401 Unauthorized: No matching signature found")] * 2
    assert backend.check() == [
        Warning(
            "NOTIFY_BACKENDS['hook']: the webhook 'secret' is not a Standard Webhooks 'whsec_' "
            "secret; receivers that verify with the Standard Webhooks libraries refuse every "
            "request it signs.",
            hint="Run 'python manage.py webhook_secret' for a new secret, and give it to the "
            "receiver too; list the old one after it to switch without a refused delivery.",
            id="spire_notify.W030",
        )
    ]


def test_a_list_of_secrets_signs_each_request_with_every_one(receiver, reference_receiver):
    """The switch from a plain secret: both sign, so the old receiver and the new one accept."""
    reference_receiver.secret = new_secret().strip()
    receiver.secret = PLAIN_SECRET
    receiver.replies = [(200, "ok")]
    secrets = [reference_receiver.secret, PLAIN_SECRET]

    assert WebhookBackend(alias="hook", url=receiver.url, secret=secrets).check() == []
    for server in (reference_receiver, receiver):
        backend = WebhookBackend(alias="hook", url=server.url, secret=secrets)
        assert backend.send(deliveries(backend, 1)) == [Outcome.success()]
    [request] = reference_receiver.verified
    assert re.fullmatch(r"v1,\S{44} v1,\S{44}", request["signature"])
    assert [request["id"] for request in receiver.received] == ["notification-1"]


@pytest.mark.parametrize(
    ("secret", "error"),
    [
        (
            "whsec_not base64!",
            Error(
                "NOTIFY_BACKENDS['hook']: the webhook 'secret' starts with 'whsec_' but the rest is "
                "not the base64 of a key.",
                hint="Copy the secret again from where it was made, or make a new one with "
                "'python manage.py webhook_secret'.",
                id="spire_notify.E032",
            ),
        ),
        (
            b"bytes",
            Error(
                "NOTIFY_BACKENDS['hook']: the webhook 'secret' must be a string or a list of "
                "strings, not bytes.",
                hint="Set OPTIONS['secret'] to a 'whsec_' secret, or to a list of them while "
                "switching from one to the next.",
                id="spire_notify.E033",
            ),
        ),
        (
            ["whsec_" + base64.b64encode(b"k" * 32).decode(), 42],
            Error(
                "NOTIFY_BACKENDS['hook']: the webhook 'secret' must be a string or a list of "
                "strings, not a list holding int.",
                hint="Set OPTIONS['secret'] to a 'whsec_' secret, or to a list of them while "
                "switching from one to the next.",
                id="spire_notify.E033",
            ),
        ),
    ],
    ids=["whsec-not-base64", "bytes", "list-with-a-number"],
)
def test_check_rejects_a_secret_it_cannot_sign_with(secret, error):
    backend = WebhookBackend(alias="hook", url="https://hooks.example.com/n", secret=secret)

    assert backend.check() == [error]


@given(
    key=st.binary(min_size=1, max_size=64),
    padded=st.booleans(),
    webhook_id=st.text(),
    timestamp=st.integers(min_value=0, max_value=2**33),  # up to the year 2242
    body=st.text(),
)
def test_a_whsec_secret_signs_as_the_reference_library_does(key, padded, webhook_id, timestamp, body):
    encoded = base64.b64encode(key).decode()
    secret = "whsec_" + (encoded if padded else encoded.rstrip("="))
    reference = standardwebhooks.Webhook(secret).sign(
        webhook_id, datetime.fromtimestamp(timestamp, UTC), body
    )

    assert sign(secret, webhook_id, timestamp, body.encode()) == reference


# A receiver that answers slowly, or without end

DRIPPED_BODY = b"x" * 100  # a byte every 0.1 s: 10 s, far past the 1 s deadline


def chunked(body):
    """``body`` as one chunk and the last, empty one."""
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def head(status_line, *headers):
    return "\r\n".join([status_line, *headers, "", ""]).encode()


LENGTH = f"Content-Length: {len(DRIPPED_BODY)}"

# Every framing a reply can have, with its head or its body dripped a byte at a time.
SLOW_REPLIES = {
    "keep-alive, Content-Length": DrippedReply(head("HTTP/1.1 200 OK", LENGTH), DRIPPED_BODY),
    "keep-alive, chunked": DrippedReply(
        head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), chunked(DRIPPED_BODY)
    ),
    "Connection: close, Content-Length": DrippedReply(
        head("HTTP/1.1 200 OK", LENGTH, "Connection: close"), DRIPPED_BODY, close=True
    ),
    "Connection: close, chunked": DrippedReply(
        head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Connection: close"),
        chunked(DRIPPED_BODY),
        close=True,
    ),
    "Connection: close, close-delimited": DrippedReply(
        head("HTTP/1.1 200 OK", "Connection: close"), DRIPPED_BODY, close=True
    ),
    "HTTP/1.0, Content-Length": DrippedReply(head("HTTP/1.0 200 OK", LENGTH), DRIPPED_BODY, close=True),
    "HTTP/1.0, close-delimited": DrippedReply(head("HTTP/1.0 200 OK"), DRIPPED_BODY, close=True),
    "keep-alive, head dripped": DrippedReply(
        head("HTTP/1.1 200 OK", "X-Padding: " + "p" * 80, "Content-Length: 0"), b"", drip_head=True
    ),
    "HTTP/1.0, head dripped": DrippedReply(
        head("HTTP/1.0 200 OK", "X-Padding: " + "p" * 80), b"", drip_head=True, close=True
    ),
}


@pytest.mark.parametrize("reply", SLOW_REPLIES.values(), ids=SLOW_REPLIES.keys())
def test_a_dripped_reply_ends_at_the_total_deadline_whatever_its_framing(reply):
    """Each byte comes well within the socket timeout; only a total deadline ends the request,
    and it must hold after a closing reply has taken the socket from the connection. The batch
    goes on: the second item gets its own deadline."""
    with DrippingServer(reply) as server:
        backend = WebhookBackend(alias="hook", url=server.url, secret=SECRET, timeout=1)
        started = time.monotonic()
        outcomes = backend.send(deliveries(backend, 2))
        elapsed = time.monotonic() - started

    assert server.answered.is_set()
    assert outcomes == [Outcome.temporary("TimeoutError: the request took longer than its deadline")] * 2
    assert 1.9 < elapsed < 4


class EndlessReply(BaseHTTPRequestHandler):
    """Announces 1.5 GB and streams it as fast as it is read."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(1_500_000_000))
        self.end_headers()
        chunk = b"x" * 65536
        try:
            for _ in range(1_500_000_000 // len(chunk)):
                if self.server.stopping.is_set():
                    return
                self.wfile.write(chunk)
        except OSError:
            return

    def log_message(self, format, *args):
        pass


@pytest.fixture
def endless():
    server = ThreadingHTTPServer(("127.0.0.1", 0), EndlessReply)
    server.daemon_threads = True
    server.stopping = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield server
    server.stopping.set()
    server.shutdown()
    server.server_close()


def test_a_huge_reply_is_not_read_into_memory(endless):
    backend = WebhookBackend(alias="hook", url=endless.url, secret=SECRET, timeout=10)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert backend.send(deliveries(backend, 2)) == [Outcome.success()] * 2
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    # At most MAX_REPLY_BYTES of each reply is read: the process grows by far less than 1.5 GB.
    assert grown_kib * 1024 < 50 * MAX_REPLY_BYTES
