"""spire-notify's pages in a project without the help desk (tests/neutral_settings.py), run by
tests/core/test_neutral_layout.py in a pytest of its own (without tests/conftest.py, which
imports the help desk): each page is titled and branded with the Site's name, and none shows a
trace of the help desk."""

import re

import lxml.html
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.apps import apps
from django.contrib.sites.models import Site
from django.urls import NoReverseMatch, reverse

from spire_notify import Message, notification_types, notify
from spire_notify.unsubscribe import unsubscribe_url

pytestmark = pytest.mark.django_db

HELP_DESK_WORDS = re.compile(r"help.?desk|ticket", re.IGNORECASE)


@pytest.fixture(autouse=True)
def site():
    Site.objects.filter(pk=1).update(name="Acme Cloud")
    Site.objects.clear_cache()
    yield
    Site.objects.clear_cache()


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("ada", email="ada@example.com", password="pw", is_staff=True)


@pytest.fixture
def push(settings):
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    settings.NOTIFY_BACKENDS = settings.NOTIFY_BACKENDS | {
        "push": {
            "BACKEND": "spire_notify.channels.webpush.backend.WebPushBackend",
            "OPTIONS": {"vapid_private_key": key.decode(), "vapid_subject": "mailto:ops@example.com"},
        }
    }


@pytest.fixture
def invoice_type():
    notification_types.register(
        "billing.invoice_paid",
        name="Invoice paid",
        default_channels=["app", "email"],
        optional_channels=["chat"],
    )
    yield "billing.invoice_paid"
    notification_types.unregister("billing.invoice_paid")


def test_the_help_desk_is_not_installed_and_registers_nothing():
    assert not apps.is_installed("spire_notify.helpdesk")
    assert [t.key for t in notification_types.all_types() if t.key.startswith("helpdesk")] == []
    with pytest.raises(NoReverseMatch):
        reverse("spire_helpdesk:ticket_list")


def pages(staff, invoice_type):
    notify(Message(event=invoice_type, title="Invoice 2026-001 paid", path="/invoices/1/"), {staff: ["app"]})
    unsubscribe = unsubscribe_url(staff, invoice_type, "email", domain="testserver", protocol="http")
    return {
        "inbox": reverse("spire_notify:inbox"),
        "preferences": reverse("spire_notify:preferences"),
        "channels": reverse("spire_notify:channels"),
        "email previews": reverse("spire_notify:email_previews"),
        "email preview": reverse(
            "spire_notify:email_preview", args=["django", "spire_notify/email/notification.html"]
        ),
        "unsubscribe": unsubscribe.split("testserver", 1)[1],
    }


def test_no_page_shows_a_trace_of_the_help_desk(client, staff, invoice_type, push):
    client.force_login(staff)
    for name, path in pages(staff, invoice_type).items():
        response = client.get(path)
        assert response.status_code == 200, name
        html = response.content.decode()
        assert HELP_DESK_WORDS.findall(html) == [], name
        page = lxml.html.fromstring(html)
        assert page.cssselect("title")[0].text_content().endswith(" · Acme Cloud"), name
        assert page.cssselect(".brand")[0].text_content().split() == ["Acme", "Cloud", "Notifications"], name


def test_every_channel_offers_its_part_on_the_pages(client, staff, invoice_type, push):
    client.force_login(staff)
    inbox = lxml.html.fromstring(client.get(reverse("spire_notify:inbox")).content)
    assert [link.text_content() for link in inbox.cssselect(".nav-links a")] == ["Email previews"]
    assert inbox.cssselect("[data-push-subscribe]")
    assert [link.text_content() for link in inbox.cssselect(".inbox-channels a")] == [
        "Chat and browser alerts"
    ]
    channels = lxml.html.fromstring(client.get(reverse("spire_notify:channels")).content)
    assert [h2.text_content() for h2 in channels.cssselect("main h2")] == ["Chat and phone", "This browser"]


def test_the_sign_in_page_is_neutral(client):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert HELP_DESK_WORDS.findall(html) == []
    page = lxml.html.fromstring(html)
    assert page.cssselect("title")[0].text_content() == "Sign in · Acme Cloud"
    assert [label.text_content() for label in page.cssselect("label")] == ["Username", "Password"]
    # No navigation for a visitor who is not signed in.
    assert page.cssselect(".nav-links") == []


def test_signing_in_leads_to_the_inbox(client, staff):
    inbox = reverse("spire_notify:inbox")
    response = client.post(
        f"{reverse('login')}?next={inbox}", {"username": "ada", "password": "pw", "next": inbox}, follow=True
    )
    assert response.redirect_chain == [(inbox, 302)]
    assert b"<h1>Notifications</h1>" in response.content


def test_without_a_site_name_the_pages_are_titled_notifications(client, staff):
    Site.objects.filter(pk=1).update(name="")
    Site.objects.clear_cache()
    client.force_login(staff)
    page = lxml.html.fromstring(client.get(reverse("spire_notify:preferences")).content)
    assert page.cssselect("title")[0].text_content() == "Notification settings · Notifications"
    assert page.cssselect(".brand")[0].text_content().strip() == "Notifications"
