"""Issue 11 end to end: preferences at write time, each recipient's language and name, the
one-click unsubscribe a mail provider makes from the headers it received, and guests.

Real parts: an aiosmtpd server whose received bytes are parsed, Django's live server for the
one-click POST, the test database.
"""

import email
import email.policy
import urllib.request
from urllib.parse import urlsplit

import pytest
from django.test import override_settings

from spire_notify import Message, notify
from spire_notify.models import Notification
from spire_notify.preferences import get_preference, set_preference
from spire_notify.worker.process import process_notifications
from tests.support.delivery_harness import DUMMY_TASKS, SmtpSink

NEW = "helpdesk.ticket.new"
pytestmark = pytest.mark.django_db(transaction=True)


def german_for_greta(user_or_address):
    """The NOTIFY_RECIPIENT_LANGUAGE of these tests: Greta reads German."""
    return "de" if getattr(user_or_address, "username", "") == "greta" else None


@pytest.fixture
def smtp():
    with SmtpSink() as sink, override_settings(TASKS=DUMMY_TASKS, **sink.mail_settings(timeout=5)):
        yield sink


def received(sink):
    return [email.message_from_bytes(raw, policy=email.policy.default) for raw in sink.handler.raw]


@pytest.fixture(autouse=True)
def _keep_raw_messages(monkeypatch):
    from tests.support.delivery_harness import RecordingHandler

    original = RecordingHandler.handle_DATA

    async def handle_data(self, server, session, envelope):
        self.raw = getattr(self, "raw", [])
        self.raw.append(envelope.content)
        return await original(self, server, session, envelope)

    monkeypatch.setattr(RecordingHandler, "handle_DATA", handle_data)


@override_settings(NOTIFY_RECIPIENT_LANGUAGE="tests.helpdesk.test_recipients_have_a_say.german_for_greta")
def test_each_recipient_reads_the_ticket_in_their_language_and_is_greeted_by_name(
    make_user, create_ticket, smtp
):
    greta = make_user("greta", email="greta@example.com", first_name="Greta", is_superuser=True)
    ada = make_user("ada", email="ada@example.com", first_name="Ada", is_superuser=True)
    ticket = create_ticket()
    Notification.objects.all().delete()
    service = ticket.services.notification
    notify(lambda: service.build_message("new"), {greta: ["app", "email"], ada: ["app", "email"]})

    in_app = {row.user.username: (row.title, row.body) for row in Notification.objects.filter(channel="app")}
    assert in_app == {
        "greta": (f"Neues Helpdesk-Ticket #{ticket.pk}", "Priorität: Hoch - Zweck: App"),
        "ada": (f"New Help Desk Ticket #{ticket.pk}", "Priority: High - Purpose: App"),
    }
    assert process_notifications()["sent"] == 2
    by_address = {message["To"]: message for message in received(smtp)}
    german, english = by_address["greta@example.com"], by_address["ada@example.com"]
    assert german["Subject"] == f"[Hoch] Neues Helpdesk-Ticket #{ticket.pk}"
    german_html = german.get_body(("html",)).get_content()
    assert '<html lang="de">' in german_html and "Hallo Greta," in german_html
    assert "Hallo Greta," in german.get_body(("plain",)).get_content()
    assert "Hello Ada," in english.get_body(("html",)).get_content()


def test_a_mail_provider_unsubscribes_with_the_headers_it_received(
    make_user, create_ticket, smtp, live_server
):
    ada = make_user("ada", email="ada@example.com", is_superuser=True)
    ticket = create_ticket()
    Notification.objects.all().delete()
    notify(ticket.services.notification.build_message("new"), {ada: ["email"]})
    process_notifications()
    [message] = received(smtp)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # .strip(): Django 5.2 folds the long header before its first character.
    link = message["List-Unsubscribe"].strip().strip("<>")
    assert link in message.get_body(("html",)).get_content()  # the footer links to it too

    # RFC 8058: a POST of exactly this body to the URL, with no cookie and no CSRF token.
    request = urllib.request.Request(
        live_server.url + urlsplit(link).path,
        data=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert get_preference(ada, NEW, "email") == "off"
    assert get_preference(ada, NEW, "app") == "immediate"

    written = notify(ticket.services.notification.build_message("new"), {ada: ["app", "email"]})
    assert [row.channel for row in written] == ["app"]


def test_preferences_apply_when_writing(make_user):
    ada, bob = make_user("ada"), make_user("bob")
    set_preference(ada, NEW, "email", "off")
    message = Message(event=NEW, title="New Help Desk Ticket #1")
    with override_settings(TASKS=DUMMY_TASKS):
        written = notify(message, {ada: ["app", "email"], bob: ["app", "email"]})
    assert sorted((row.user.username, row.channel) for row in written) == [
        ("ada", "app"),
        ("bob", "app"),
        ("bob", "email"),
    ]


def test_a_guest_is_mailed_by_address_and_never_gets_an_in_app_row(smtp):
    message = Message(event=NEW, title="Your ticket was received", path="/help_desk/")
    written = notify(message, {"guest@example.org": ["app", "email"]})
    assert [(row.channel, row.user) for row in written] == [("email", None)]
    assert process_notifications()["sent"] == 1
    [mail] = received(smtp)
    assert mail["To"] == "guest@example.org"
    assert mail["List-Unsubscribe"].strip().startswith("<https://example.com/notifications/unsubscribe/")
    html = mail.get_body(("html",)).get_content()
    assert "Hello," in html and "notifications/preferences" not in html  # no account to sign in to


def test_a_guest_who_unsubscribed_is_not_mailed_again():
    set_preference("Guest@Example.org", NEW, "email", "off")
    message = Message(event=NEW, title="Your ticket was received")
    with override_settings(TASKS=DUMMY_TASKS):
        assert notify(message, {"guest@example.org": ["email"]}) == []
