"""The help desk in spire-notify's layout: its pages are titled "Help desk", and its links
(Tickets, New ticket) are in the navigation of every page, spire-notify's own included, added
through its ``notify_pages`` (the core names it nowhere)."""

import lxml.html
import pytest
from django.apps import apps
from django.contrib.sites.models import Site
from django.urls import reverse

from spire_notify.channel_apps import installed_page_parts
from spire_notify.helpdesk.pages import HelpDeskPages

pytestmark = pytest.mark.django_db

TICKETS = reverse("spire_helpdesk:ticket_list")
NEW_TICKET = reverse("spire_helpdesk:ticket_create")


def navigation(response):
    page = lxml.html.fromstring(response.content)
    return [
        (link.text_content(), link.get("href"), link.get("aria-current"))
        for link in page.cssselect(".nav-links a")
    ]


def title(response):
    return lxml.html.fromstring(response.content).cssselect("title")[0].text_content()


def test_the_help_desk_adds_its_pages_through_its_app_config():
    assert apps.get_app_config("spire_helpdesk").notify_pages == "spire_notify.helpdesk.pages.HelpDeskPages"
    assert [type(parts) for parts in installed_page_parts() if isinstance(parts, HelpDeskPages)] == [
        HelpDeskPages
    ]


@pytest.mark.parametrize("name", ["spire_notify:inbox", "spire_notify:preferences", "spire_notify:channels"])
def test_spire_notify_pages_link_to_the_help_desk(signed_in, name):
    response = signed_in.get(reverse(name))
    assert navigation(response) == [("Tickets", TICKETS, None), ("New ticket", NEW_TICKET, None)]
    assert title(response).endswith(" · example.com")


def test_the_help_desk_pages_say_which_is_current_and_are_titled_help_desk(signed_in):
    response = signed_in.get(NEW_TICKET)
    assert navigation(response) == [("Tickets", TICKETS, None), ("New ticket", NEW_TICKET, "page")]
    assert title(response) == "New ticket · Help desk"
    assert lxml.html.fromstring(response.content).cssselect(".brand")[0].get("href") == TICKETS


def test_the_brand_is_the_sites_name(signed_in):
    Site.objects.filter(pk=1).update(name="Acme Support")
    Site.objects.clear_cache()
    try:
        page = lxml.html.fromstring(signed_in.get(reverse("spire_notify:inbox")).content)
    finally:
        Site.objects.clear_cache()
    assert page.cssselect(".brand")[0].text_content().split() == ["Acme", "Support", "Notifications"]
    assert page.cssselect("title")[0].text_content() == "Notifications · Acme Support"


def test_without_its_urls_the_help_desk_adds_no_links(signed_in, settings):
    settings.ROOT_URLCONF = "tests.urls_without_helpdesk"
    assert navigation(signed_in.get("/notifications/")) == []
