"""The preferences page: every registered type by every configured channel, saved by POST."""

import lxml.html
import pytest
from django.test import Client, override_settings
from django.urls import reverse

from spire_notify import notification_types
from spire_notify.preferences import get_preference, set_preference

pytestmark = pytest.mark.django_db

PAGE = reverse("spire_notify:preferences")
NEW = "helpdesk.ticket.new"


@pytest.fixture
def signed_in(client, requester):
    client.force_login(requester)
    return client


def table(response):
    page = lxml.html.fromstring(response.content)
    head = [cell.text_content().strip() for cell in page.cssselect("table.preferences thead th")]
    rows = {
        row.cssselect("th .preference-name")[0].text_content(): [
            (select.get("name"), select.cssselect("option[selected]")[0].get("value"))
            if (select := next(iter(cell.cssselect("select")), None)) is not None
            else cell.text_content().strip()
            for cell in row.cssselect("td")
        ]
        for row in page.cssselect("table.preferences tbody tr")
    }
    return head, rows


def test_needs_a_signed_in_user(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_lists_every_registered_type_by_every_configured_channel(signed_in, requester, security_notice):
    set_preference(requester, NEW, "email", "off")
    response = signed_in.get(PAGE)
    assert response["X-Frame-Options"] == "DENY"
    head, rows = table(response)
    assert head == ["Notification", "App", "Email"]
    assert rows == {
        "Security notice": ["Always (required, cannot be switched off)"] * 2,
        "New comment on a ticket": [
            ("helpdesk.ticket.comment:app", "immediate"),
            ("helpdesk.ticket.comment:email", "immediate"),
        ],
        "New help desk ticket": [
            ("helpdesk.ticket.new:app", "immediate"),
            ("helpdesk.ticket.new:email", "off"),
        ],
        "Ticket status changed": [
            ("helpdesk.ticket.update:app", "immediate"),
            ("helpdesk.ticket.update:email", "immediate"),
        ],
    }


def test_channels_are_those_configured(signed_in):
    backends = {"app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"}}
    with override_settings(NOTIFY_BACKENDS=backends):
        head, rows = table(signed_in.get(PAGE))
    assert head == ["Notification", "App"]
    assert rows["New help desk ticket"] == [("helpdesk.ticket.new:app", "immediate")]


def test_saving_sets_the_chosen_modes_and_leaves_mandatory_types_on(signed_in, requester, security_notice):
    response = signed_in.post(
        PAGE,
        {
            "helpdesk.ticket.new:email": "off",
            "helpdesk.ticket.update:app": "off",
            "helpdesk.ticket.comment:app": "immediate",
            "accounts.security:email": "off",
            "helpdesk.ticket.comment:email": "bogus",
        },
        follow=True,
    )
    assert response.redirect_chain == [(PAGE, 302)]
    assert "Your notification settings were saved." in response.content.decode()
    assert get_preference(requester, NEW, "email") == "off"
    assert get_preference(requester, "helpdesk.ticket.update", "app") == "off"
    assert get_preference(requester, "helpdesk.ticket.comment", "email") == "immediate"
    assert get_preference(requester, "accounts.security", "email") == "immediate"
    # Unchanged defaults are not written down.
    assert requester.notification_preferences.count() == 2


def test_a_channel_the_type_is_not_sent_on_cannot_be_turned_on(signed_in, requester):
    notification_types.register("reports.weekly", name="Weekly report", default_channels=["app"])
    try:
        response = signed_in.post(PAGE, {"reports.weekly:email": "immediate", "reports.weekly:app": "off"})
    finally:
        notification_types.unregister("reports.weekly")
    assert response.status_code == 302
    assert list(requester.notification_preferences.values_list("type_key", "channel", "mode")) == [
        ("reports.weekly", "app", "off")
    ]


def test_saving_needs_the_csrf_token(requester):
    client = Client(enforce_csrf_checks=True)
    client.force_login(requester)
    assert client.post(PAGE, {"helpdesk.ticket.new:email": "off"}).status_code == 403
    assert get_preference(requester, NEW, "email") == "immediate"


def test_every_select_has_a_label(signed_in):
    page = lxml.html.fromstring(signed_in.get(PAGE).content)
    labels = {label.get("for"): label.text_content() for label in page.cssselect("label")}
    selects = page.cssselect("select")
    assert selects
    assert [labels[select.get("id")] for select in selects][:2] == [
        "New comment on a ticket: App",
        "New comment on a ticket: Email",
    ]


def test_the_inbox_links_to_the_settings(signed_in):
    page = lxml.html.fromstring(signed_in.get(reverse("spire_notify:inbox")).content)
    assert [
        link.get("href") for link in page.cssselect("a") if link.text_content() == "Notification settings"
    ] == [PAGE]
