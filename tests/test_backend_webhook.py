"""The webhook backend against a real HTTP server on 127.0.0.1 that checks every signature."""

import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from spire_notify import Message, Recipient, notify
from spire_notify.automations import process_notifications
from spire_notify.backends.base import Delivery, Outcome
from spire_notify.backends.webhook import WebhookBackend, sign
from spire_notify.exceptions import InvalidNotifyBackend

SECRET = "s3cret-shared-with-the-receiver"


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver as its documentation tells one to write it."""

    protocol_version = "HTTP/1.1"  # keep-alive, so that one connection can carry a batch

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(expected, self.headers.get("X-Spire-Signature", ""))
        self.server.received.append(
            {
                "connection": self.client_address,
                "notification": self.headers["X-Spire-Notification"],
                "document": json.loads(body),
            }
        )
        status, reply = (401, "bad signature") if not signed else self.server.replies.pop(0)
        payload = reply.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.received = []
    server.replies = []
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
            "purpose": "App",
            "context": {"ticket_id": 7},
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
    assert [request["notification"] for request in receiver.received] == ["1", "2", "3"]
    assert len({request["connection"] for request in receiver.received}) == 1
    assert receiver.received[0]["document"] == {
        "event": "helpdesk.ticket.new",
        "title": "New Help Desk Ticket #7",
        "body": "Priority: High - Purpose: App",
        "path": "/help_desk/page/7/detail/",
        "priority": "High",
        "purpose": "App",
        "target": None,
        "context": {"ticket_id": 7},
        "recipient": {"user_id": 1, "email": "dev@example.com", "name": "Dev"},
    }


def test_server_errors_are_retried_and_client_errors_are_final(receiver):
    receiver.replies = [(503, "maintenance"), (404, ""), (429, "slow down"), (200, "ok")]
    backend = WebhookBackend(alias="hook", url=receiver.url, secret=SECRET)

    outcomes = backend.send(deliveries(backend, 4))

    assert outcomes == [
        Outcome.temporary("HTTP 503 Service Unavailable: maintenance"),
        Outcome.permanent_failure("HTTP 404 Not Found"),
        Outcome.temporary("HTTP 429 Too Many Requests: slow down"),
        Outcome.success(),
    ]
    assert len({request["connection"] for request in receiver.received}) == 1


def test_a_wrong_secret_is_refused_by_the_receiver(receiver):
    backend = WebhookBackend(alias="hook", url=receiver.url, secret="not-the-shared-one")

    outcomes = backend.send(deliveries(backend, 2))

    assert outcomes == [Outcome.permanent_failure("HTTP 401 Unauthorized: bad signature")] * 2


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
            "NOTIFY_BACKENDS['hook']: the webhook 'url' 'ftp://hooks.example.com/' "
            "is not an http:// or https:// URL.",
        ),
    ]
    with pytest.raises(ImproperlyConfigured, match=r"^spire_notify\.E030: "):
        backend.validate()


def test_a_configured_webhook_passes_its_check():
    assert WebhookBackend(alias="hook", url="https://hooks.example.com/n", secret=SECRET).check() == []


@pytest.mark.django_db
def test_notify_delivers_through_the_webhook_channel(receiver, make_user, create_ticket):
    receiver.replies = [(200, "ok")]
    ticket = create_ticket()
    user = make_user("ops")
    hook = {
        "BACKEND": "spire_notify.backends.webhook.WebhookBackend",
        "OPTIONS": {"url": receiver.url, "secret": SECRET},
    }
    with override_settings(NOTIFY_BACKENDS={"hook": hook}):
        [notification] = notify(ticket.services.notification.build_message("new"), {user: ["hook"]})
        counts = process_notifications()

    notification.refresh_from_db()
    assert counts == {"sent": 1, "errored": 0, "failed": 0, "skipped": 0}
    assert (notification.status, notification.body) == ("sent", "Priority: High - Purpose: App")
    [request] = receiver.received
    assert request["notification"] == str(notification.pk)
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
def test_render_is_a_signed_json_image_of_the_message(title, body, path, context, email, name):
    backend = WebhookBackend(alias="hook", url="https://hooks.example.com/", secret=SECRET)
    message = ticket_message(title=title, body=body, path=path, context=context)
    recipient = Recipient(user_id=3, email=email, name=name)

    rendered = backend.render(message, recipient)
    document = json.loads(rendered.content.body)

    assert rendered.content == backend.render(message, recipient).content  # deterministic bytes
    assert rendered.content.signature == sign(SECRET, rendered.content.body)
    assert (rendered.body, rendered.url) == (message.summary, path)
    assert document["title"] == title
    assert document["body"] == message.summary
    assert document["path"] == path
    assert document["context"] == context
    assert document["recipient"] == {"user_id": 3, "email": email, "name": name}
