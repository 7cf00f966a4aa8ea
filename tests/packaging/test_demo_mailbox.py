"""The demo's mailbox shows whom each email was meant for: with DEBUG on, every email is
addressed to DEVELOPMENT_EMAIL, and X-Original-To names the real recipient."""

from email.message import EmailMessage

import pytest
from django.conf import settings
from django.test import override_settings


@pytest.fixture
def mailbox(tmp_path):
    message = EmailMessage()
    message["Subject"] = "[High] New Help Desk Ticket #1"
    message["From"] = "helpdesk@example.com"
    message["To"] = "dev-inbox@example.com"
    message["X-Original-To"] = "developer@example.com"
    message["Message-ID"] = "<notification.1@example.com>"
    message.set_content("Hello,")
    message.add_alternative("<p>Hello,</p>", subtype="html")
    (tmp_path / "1.eml").write_bytes(bytes(message))
    with override_settings(
        MAILBOX_DIR=tmp_path,
        ROOT_URLCONF="demo.urls",
        INSTALLED_APPS=[*settings.INSTALLED_APPS, "demo"],
    ):
        yield


@pytest.mark.django_db
def test_the_demo_mailbox_shows_the_real_recipient(mailbox, client, make_user):
    client.force_login(make_user("staff", is_staff=True))
    listing = client.get("/demo/mailbox/").content.decode()
    assert "<td>dev-inbox@example.com</td><td>developer@example.com</td>" in listing
    page = client.get("/demo/mailbox/1/").content.decode()
    assert "<dt>Meant for (X-Original-To)</dt><dd>developer@example.com</dd>" in page
