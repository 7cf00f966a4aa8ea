"""A real worker process and a real internal host: what a user saved on the channels page never
makes the worker send a request inside the network (issue 18, item 2)."""

import pytest
from django.test import override_settings

from spire_notify import Message, notify
from spire_notify.channels.apprise.models import AppriseAddress
from spire_notify.models import Notification
from tests.support.delivery_harness import DUMMY_TASKS, finish, manage, shared_db, worker_env
from tests.support.local_http import RecordingServer

__all__ = ["shared_db"]

# What tests/user_url_settings.py gives the worker; that module reads the worker's environment,
# so the test cannot import it.
CHAT_BACKENDS = {
    "chat": {
        "BACKEND": "spire_notify.channels.apprise.backend.AppriseBackend",
        "OPTIONS": {"domain": "desk.example.com", "timeout": 5},
    },
}
TICKET = Message(event="desk.ticket.new", title="New Help Desk Ticket #7", path="/help_desk/page/7/detail/")


@pytest.fixture
def internal_host():
    """An internal service the worker's network can reach and users must not."""
    with RecordingServer() as server:
        yield server


@override_settings(TASKS=DUMMY_TASKS, NOTIFY_BACKENDS=CHAT_BACKENDS)
def test_a_worker_process_sends_nothing_inside_for_urls_saved_before_the_checks(
    shared_db, internal_host, make_user
):
    port = internal_host.origin.rsplit(":", 1)[1]
    ada = make_user("ada")
    # As if saved before the checks existed: a forged DELETE, and a name that resolves inside.
    AppriseAddress.objects.create(
        user=ada,
        url=f"json://127.0.0.1:{port}/internal/admin/delete-everything?method=DELETE&+X-Internal-Auth=forged",
    )
    AppriseAddress.objects.create(user=ada, url=f"ntfy://localhost:{port}/ada-topic-1234")
    notify(TICKET, {ada: ["chat"]})

    env = {**worker_env(shared_db), "DJANGO_SETTINGS_MODULE": "tests.user_url_settings"}
    finish(manage("process_notifications", env=env), timeout=60)

    assert [
        (request.method, request.headers.get("x-internal-auth")) for request in internal_host.received
    ] == []
    row = Notification.objects.get()
    assert (row.status, row.last_error) == (
        "failed",
        # Each URL is a destination of its own, and fails alone.
        "Apprise rejects json://••••rged (json:// is not among the services users may add); "
        "Apprise rejects ntfy://••••1234 (it leads to 127.0.0.1, a loopback address)",
    )
