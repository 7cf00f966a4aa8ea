"""The example SMS channel in a project that installed it (tests/example_channel_settings.py),
run by tests/channels/test_example_channel.py in a pytest of its own: its migration applies, its page
works under spire_notify:, and notify() delivers through it to an HTTP server on 127.0.0.1."""

import contextlib
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.checks import Error, run_checks
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings
from django.urls import reverse

from spire_notify import Message, notify, process_notifications
from spire_notify.testing import BackendContract
from tests.example_channel.backend import SmsBackend
from tests.example_channel.models import PhoneNumber
from tests.support.delivery_harness import free_port
from tests.support.local_http import RecordingServer

pytestmark = pytest.mark.django_db


def test_the_project_passes_its_checks():
    assert [message for message in run_checks() if isinstance(message, Error)] == []


def test_its_migration_applied():
    assert MigrationRecorder(connection).migration_qs.filter(app="example_sms", name="0001_initial").exists()
    assert PhoneNumber._meta.db_table in connection.introspection.table_names()


def test_its_page_sets_the_number_under_spire_notify(client, make_user):
    ada = make_user("ada")
    client.force_login(ada)
    assert reverse("spire_notify:sms_phone_number") == "/notifications/sms/"
    assert client.get("/notifications/sms/").status_code == 200
    response = client.post("/notifications/sms/", {"number": "+4915112345678"}, follow=True)
    assert "Phone number saved." in response.content.decode()
    assert PhoneNumber.objects.get(user=ada).number == "+4915112345678"
    refused = client.post("/notifications/sms/", {"number": "0151 123"})
    assert "Give the number in international form: +4915112345678." in refused.content.decode()
    # Its section of the channels page, beside the other installed channels'.
    assert "Sent to +4915112345678." in client.get("/notifications/channels/").content.decode()


def test_notify_delivers_through_it_to_the_gateway(make_user):
    ada = make_user("ada")
    PhoneNumber.objects.create(user=ada, number="+4915112345678")
    message = Message(
        event="deploys.finished", title="Deploy finished", body="All green.", path="/deploys/7/"
    )
    with RecordingServer() as gateway:
        sms = {
            "BACKEND": "tests.example_channel.backend.SmsBackend",
            "OPTIONS": {"url": f"http://{gateway.origin}/send"},
        }
        with override_settings(NOTIFY_BACKENDS={"sms": sms}):
            [notification] = notify(message, {ada: ["sms"]})
            counts = process_notifications()
    notification.refresh_from_db()
    assert (notification.status, counts["sent"]) == ("sent", 1)
    [request] = gateway.received
    assert (request.method, request.path) == ("POST", "/send")
    assert json.loads(request.body) == {"to": "+4915112345678", "text": "Deploy finished /deploys/7/"}


@contextlib.contextmanager
def running_gateway():
    with RecordingServer() as gateway:
        yield {"url": f"http://{gateway.origin}/send"}


@contextlib.contextmanager
def closed_gateway():
    yield {"url": f"http://127.0.0.1:{free_port()}/send"}  # nothing listens there


class TestSmsBackend(BackendContract):
    """The contract every backend keeps; its deliveries go to users with a number."""

    backend_class = SmsBackend
    options = {"url": "https://sms.example.com/send"}

    @pytest.fixture(autouse=True)
    def numbers(self):
        for recipient in self.make_recipients():
            user = get_user_model().objects.create(pk=recipient.user_id, username=recipient.name)
            PhoneNumber.objects.create(user=user, number=f"+4915100000{recipient.user_id}")

    def make_notification(self, pk, recipient):
        notification = super().make_notification(pk, recipient)
        notification.user_id = recipient.user_id
        return notification

    def working_transport(self):
        return running_gateway()

    def broken_transport(self):
        return closed_gateway()
