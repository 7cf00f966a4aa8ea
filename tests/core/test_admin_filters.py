"""The admin's type filter lists the registered types by name and filters on the event."""

import lxml.html
import pytest
from django.urls import reverse

from spire_notify import notification_types

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:spire_notify_notification_changelist")


@pytest.fixture
def admin_client(client, make_user, create_and_deliver, developer):
    create_and_deliver()
    client.force_login(make_user("admin", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def security_notice():
    notification_types.register("accounts.security", name="Security notice", mandatory=True)
    yield
    notification_types.unregister("accounts.security")


def type_filter_choices(response):
    page = lxml.html.fromstring(response.content)
    [details] = [
        d
        for d in page.cssselect("#changelist-filter details")
        if "type" in d.cssselect("summary")[0].text_content()
    ]
    return [link.text_content().strip() for link in details.cssselect("li a")]


def test_lists_every_registered_type_by_name(admin_client, security_notice):
    assert type_filter_choices(admin_client.get(CHANGELIST)) == [
        "All",
        "Security notice",
        "New comment on a ticket",
        "New help desk ticket",
        "Ticket status changed",
    ]


def listed(response):
    return len(lxml.html.fromstring(response.content).cssselect("#result_list tbody tr"))


def test_filters_on_the_event(admin_client):
    assert listed(admin_client.get(CHANGELIST, {"event": "helpdesk.ticket.new"})) == 2
    assert listed(admin_client.get(CHANGELIST, {"event": "helpdesk.ticket.update"})) == 0
