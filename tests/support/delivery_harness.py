"""What the delivery tests share: a database other processes can open, worker subprocesses,
and an SMTP sink that counts what arrives by Message-ID.
"""

import asyncio
import atexit
import email
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import SiteManager
from django.db import connections

from spire_notify.compat import TASKS_MODULE
from tests.mail_settings import smtp_settings

ROOT = Path(__file__).resolve().parents[2]
ON_POSTGRES = os.environ.get("SPIRE_TEST_DB") == "postgres"
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES, reason="needs PostgreSQL: run with SPIRE_TEST_DB=postgres"
)


def worker_env(db_name, **variables):
    """The environment of a worker subprocess: tests.delivery_settings on ``db_name``."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.delivery_settings",
        "SPIRE_DELIVERY_DB_NAME": db_name,
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update({f"SPIRE_DELIVERY_{name.upper()}": str(value) for name, value in variables.items()})
    return env


def manage(*args, env, **popen_options):
    """Start ``django-admin <args>`` as a subprocess."""
    return subprocess.Popen(
        [sys.executable, "-m", "django", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen_options,
    )


def finish(process, timeout=120):
    """Wait for ``process``; fail with its output if it did not exit cleanly."""
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"exit {process.returncode}\n{stdout}\n{stderr}"
    return stdout


def wait_until(condition, *, timeout, interval=0.2, message="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


_migrated_template = None


def _migrated_sqlite_file():
    """A migrated SQLite file, made once per test session by a real ``migrate``."""
    global _migrated_template
    if _migrated_template is None:
        path = Path(tempfile.mkdtemp(prefix="spire-delivery-")) / "template.sqlite3"
        atexit.register(shutil.rmtree, path.parent, ignore_errors=True)
        finish(manage("migrate", "--verbosity", "0", env=worker_env(str(path))))
        _migrated_template = path
    return _migrated_template


@pytest.fixture
def shared_db(transactional_db, tmp_path):
    """The name of a database that this test and its worker subprocesses all open.

    PostgreSQL's test database is shared as it is. SQLite's test database lives in this
    process's memory, so the test gets a migrated file instead, swapped in as "default".
    """
    connection = connections["default"]
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield connection.settings_dict["NAME"]
        return
    path = tmp_path / "shared.sqlite3"
    shutil.copy(_migrated_sqlite_file(), path)
    settings_dict = {**connection.settings_dict, "NAME": str(path)}
    settings_dict["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    file_connection = type(connection)(settings_dict, alias="default")
    _clear_model_caches()
    connections["default"] = file_connection
    try:
        yield str(path)
    finally:
        file_connection.close()
        connections["default"] = connection
        _clear_model_caches()


def _clear_model_caches():
    # Both caches hold rows of one database; the other may number them differently.
    ContentType.objects.clear_cache()
    SiteManager.clear_cache(None)


class RecordingHandler:
    """Accepts every message, except for the recipients ``refuse`` maps to an SMTP reply."""

    def __init__(self, *, delay=0.0, refuse=None):
        self.delay = delay
        self.refuse = dict(refuse or {})
        self.lock = threading.Lock()
        self.received = []  # (Message-ID, recipient) in arrival order

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message_id = email.message_from_bytes(envelope.content)["Message-ID"]
        with self.lock:
            self.received.extend((message_id, rcpt) for rcpt in envelope.rcpt_tos)
        return "250 Message accepted for delivery"

    def message_ids(self):
        with self.lock:
            return Counter(message_id for message_id, _ in self.received)


class _SessionCountingSMTP(SMTP):
    """aiosmtpd's SMTP protocol, telling its controller when a client connects and when the
    server has seen the connection end."""

    def __init__(self, handler, *, on_open, on_close, **smtp_options):
        super().__init__(handler, **smtp_options)
        self._on_open, self._on_close = on_open, on_close

    def connection_made(self, transport):
        self._on_open()
        super().connection_made(transport)

    def connection_lost(self, error):
        try:
            super().connection_lost(error)
        finally:
            self._on_close()


class _SessionCountingController(Controller):
    def __init__(self, handler, **options):
        super().__init__(handler, **options)
        self.open_sessions = 0
        self._lock = threading.Lock()

    def factory(self):
        return _SessionCountingSMTP(
            self.handler, on_open=self._opened, on_close=self._closed, **self.SMTP_kwargs
        )

    def _opened(self):
        with self._lock:
            self.open_sessions += 1

    def _closed(self):
        with self._lock:
            self.open_sessions -= 1


class SmtpServerThread:
    """An aiosmtpd server on 127.0.0.1 in a thread of the test process, whose handler is
    ``handler``."""

    def __init__(self, handler, *, port=None):
        self.handler = handler
        self.port = port or free_port()
        self.controller = _SessionCountingController(self.handler, hostname="127.0.0.1", port=self.port)

    def wait_for_every_session_to_end(self, timeout=30):
        """Returns once the server has seen every client connection close.

        What a killed client wrote before it died is still read and handled by the server
        after the client's process is gone; a test that asks "what did the server accept
        before the kill?" asks it after this, or it races the server's event loop (with
        several connections, a message a connection had finished writing was recorded
        milliseconds after such a test had looked)."""
        wait_until(
            lambda: self.controller.open_sessions == 0,
            timeout=timeout,
            interval=0.02,
            message="the server to see every client connection close",
        )

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc_info):
        self.controller.stop()

    def mail_settings(self, timeout=10):
        """The settings of a Django process sending here (MAILERS on Django 6.1, EMAIL_* before)."""
        return smtp_settings(self.port, timeout=timeout)


class SmtpSink(SmtpServerThread):
    """Records every message it accepts (``RecordingHandler``)."""

    def __init__(self, *, port=None, **handler_options):
        super().__init__(RecordingHandler(**handler_options), port=port)


def free_port():
    """A port on 127.0.0.1 where nothing listens yet."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed_email_notifications(count, *, prefix="recipient"):
    """``count`` users and one email notification each, written by ``notify()`` like an app
    would; delivery is left to the workers (the test process enqueues nothing: TASKS is the
    dummy backend in the tests that call this)."""
    from spire_notify.message import Message
    from spire_notify.write.notify import notify

    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        [user_model(username=f"{prefix}{i}", email=f"{prefix}{i}@example.net") for i in range(count)]
    )
    message = Message(event="delivery-test", title="Delivery test", body="Exactly once, please.", path="/x/")
    return notify(message, {user: ["email"] for user in users})


def message_id(notification):
    return f"<notification.{notification.pk}@example.com>"


DUMMY_TASKS = {"default": {"BACKEND": f"{TASKS_MODULE}.backends.dummy.DummyBackend"}}
