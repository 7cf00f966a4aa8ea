"""Every backend shipped with spire-notify passes the contract kit third-party backends run."""

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.test import override_settings

from spire_notify.backends.console import ConsoleBackend
from spire_notify.backends.locmem import LocMemBackend
from spire_notify.channels.app.backend import AppBackend
from spire_notify.channels.email.backend import EmailBackend
from spire_notify.channels.webhook.backend import WebhookBackend
from spire_notify.testing import BackendContract, ForbiddenDuringRender, no_queries_and_no_sockets
from tests.support.delivery_harness import SmtpSink, free_port


class TestAppBackend(BackendContract):
    backend_class = AppBackend


class TestLocMemBackend(BackendContract):
    backend_class = LocMemBackend


class TestConsoleBackend(BackendContract):
    backend_class = ConsoleBackend

    def make_backend(self, **overrides):
        import io

        return super().make_backend(stream=io.StringIO(), **overrides)


class TestEmailBackend(BackendContract):
    backend_class = EmailBackend
    options = {"domain": "example.com"}

    @contextlib.contextmanager
    def working_transport(self):
        with SmtpSink() as sink, override_settings(**sink.mail_settings(timeout=5)):
            yield {}

    @contextlib.contextmanager
    def broken_transport(self):
        closed = SmtpSink(port=free_port())  # never started: nothing listens on its port
        with override_settings(**closed.mail_settings(timeout=5)):
            yield {}


class Accepting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        pass


class TestWebhookBackend(BackendContract):
    backend_class = WebhookBackend
    options = {
        "url": "https://hooks.example.com/",
        "secret": "whsec_czNjcmV0LWtleS1vZi10aGUtY29udHJhY3Qta2l0",
    }

    @contextlib.contextmanager
    def working_transport(self):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Accepting)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield {"url": f"http://127.0.0.1:{server.server_address[1]}/hook"}
        finally:
            server.shutdown()
            server.server_close()

    def broken_transport(self):
        return contextlib.nullcontext({"url": f"http://127.0.0.1:{free_port()}/hook"})


def test_the_kit_catches_a_render_that_queries(db):
    import pytest
    from django.contrib.auth import get_user_model

    with pytest.raises(ForbiddenDuringRender, match="^render\\(\\) ran a query: "):
        with no_queries_and_no_sockets():
            get_user_model().objects.count()


def test_the_kit_catches_a_render_that_connects():
    import socket

    import pytest

    with pytest.raises(ForbiddenDuringRender, match="opened a connection"):
        with no_queries_and_no_sockets():
            socket.create_connection(("127.0.0.1", free_port()), timeout=1)
