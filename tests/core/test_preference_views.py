"""The preferences page: every registered type with a choice for each of its configured channels,
saved by POST."""

import lxml.html
import pytest
from django.test import Client, override_settings
from django.urls import reverse

from spire_notify import notification_types
from spire_notify.preferences import get_preference, set_preference

pytestmark = pytest.mark.django_db

PAGE = reverse("spire_notify:preferences")
NEW = "helpdesk.ticket.new"


def choices(response):
    """``{type name: [(channel label, (select name, selected mode) or the locked text), ...]}``."""
    page = lxml.html.fromstring(response.content)
    return {
        fieldset.cssselect("legend")[0].text_content(): [
            (
                channel.cssselect(".preference-channel-name")[0].text_content().split(": ")[-1],
                (select.get("name"), select.cssselect("option[selected]")[0].get("value"))
                if (select := next(iter(channel.cssselect("select")), None)) is not None
                else channel.cssselect(".preference-locked")[0].text_content().strip(),
            )
            for channel in fieldset.cssselect(".preference-channel")
        ]
        for fieldset in page.cssselect("form fieldset.preference")
    }


def test_needs_a_signed_in_user(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_lists_every_registered_type_with_its_configured_channels(signed_in, requester, security_notice):
    set_preference(requester, NEW, "email", "off")
    response = signed_in.get(PAGE)
    assert response["X-Frame-Options"] == "DENY"
    assert choices(response) == {
        "Security notice": [("Email", "Always (required, cannot be switched off)")],
        "New comment on a ticket": [
            ("App", ("helpdesk.ticket.comment:app", "immediate")),
            ("Email", ("helpdesk.ticket.comment:email", "immediate")),
        ],
        "New help desk ticket": [
            ("App", ("helpdesk.ticket.new:app", "immediate")),
            ("Email", ("helpdesk.ticket.new:email", "off")),
        ],
        "Ticket status changed": [
            ("App", ("helpdesk.ticket.update:app", "immediate")),
            ("Email", ("helpdesk.ticket.update:email", "immediate")),
        ],
    }


def test_channels_are_those_configured(signed_in):
    backends = {"app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"}}
    with override_settings(NOTIFY_BACKENDS=backends):
        page = choices(signed_in.get(PAGE))
    assert page["New help desk ticket"] == [("App", ("helpdesk.ticket.new:app", "immediate"))]
    # The security notice is sent by email only, which is not configured: nothing to choose.
    assert "Security notice" not in page


@pytest.fixture
def reports_type():
    """A type sent in-app by default and by email only to those who turn it on."""
    notification_types.register(
        "reports.weekly", name="Weekly report", default_channels=["app"], optional_channels=["email"]
    )
    yield "reports.weekly"
    notification_types.unregister("reports.weekly")


def test_each_type_offers_its_own_channels_only(signed_in, security_notice, reports_type):
    page = choices(signed_in.get(PAGE))
    assert page["Weekly report"] == [
        ("App", ("reports.weekly:app", "immediate")),
        ("Email", ("reports.weekly:email", "off")),
    ]
    assert [channel for channel, _ in page["Security notice"]] == ["Email"]


def test_a_channel_the_type_is_not_sent_on_is_not_saved(signed_in, requester):
    notification_types.register("reports.daily", name="Daily report", default_channels=["app"])
    try:
        signed_in.post(PAGE, {"reports.daily:email": "immediate", "reports.daily:app": "off"})
    finally:
        notification_types.unregister("reports.daily")
    assert list(requester.notification_preferences.values_list("type_key", "channel", "mode")) == [
        ("reports.daily", "app", "off")
    ]


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
