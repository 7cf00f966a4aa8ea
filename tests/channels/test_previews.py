"""Email previews: every template, both engines, rendered exactly as sent, writing nothing."""

import html

import lxml.html
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from spire_notify.channels.email.backend import EmailBackend
from spire_notify.channels.email.previews import SAMPLE_RECIPIENT, render_preview, samples

pytestmark = pytest.mark.django_db

PREVIEWS = reverse("spire_notify:email_previews")
TEMPLATES = [
    "helpdesk/email/ticket_comment.html",
    "helpdesk/email/ticket_new.html",
    "helpdesk/email/ticket_update.html",
    "spire_notify/email/notification.html",
]
EVERY_PREVIEW = [(template, engine) for template in TEMPLATES for engine in ["django", "jinja2"]]


def preview_url(engine, template):
    return reverse("spire_notify:email_preview", args=[engine, template])


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("staff", is_staff=True))
    return client


def test_lists_every_email_template_with_both_engines(staff_client):
    page = lxml.html.fromstring(staff_client.get(PREVIEWS).content)
    links = [link.get("href") for link in page.cssselect("table.data a")]
    assert links == [preview_url(engine, template) for template, engine in EVERY_PREVIEW]


@pytest.mark.parametrize(("template", "engine"), EVERY_PREVIEW)
def test_shows_subject_text_and_html_exactly_as_the_email_backend_sends_them(staff_client, template, engine):
    message = samples()[template]()
    backend = EmailBackend(alias="email", engine=engine)
    sent = backend.render(message, SAMPLE_RECIPIENT)

    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(preview_url(engine, template))

    page = lxml.html.fromstring(response.content)
    [frame] = page.cssselect("iframe.preview-frame")
    assert frame.get("srcdoc") == sent.content.alternatives[0][0]
    assert frame.get("sandbox") == ""
    assert page.cssselect('[data-preview="subject"]')[0].text_content() == sent.content.subject
    assert page.cssselect('[data-preview="text"]')[0].text_content() == sent.content.body
    assert 'style="' in frame.get("srcdoc")
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []


def test_the_sample_ticket_is_escaped_in_the_html_and_whole_in_the_text():
    preview = render_preview("helpdesk/email/ticket_new.html", "jinja2")
    description = lxml.html.fromstring(preview.html).find_class("description")[0].text_content()
    assert '"Server Error (500)" <after> the redirect.' in description
    assert "&lt;after&gt;" in preview.html
    assert '"Server Error (500)" <after> the redirect.' in preview.text
    assert preview.subject == "[High] New Help Desk Ticket #1042"


def test_headers_follow_the_configuration(settings):
    settings.DEFAULT_FROM_EMAIL = "desk@example.org"
    settings.DEBUG = True
    preview = render_preview("helpdesk/email/ticket_update.html", "django")
    # With DEBUG on, email goes to DEVELOPMENT_EMAIL: the preview says so.
    assert (preview.from_email, preview.to) == ("desk@example.org", "dev-inbox@example.com")

    settings.DEVELOPMENT_EMAIL = ""
    assert render_preview("helpdesk/email/ticket_update.html", "django").to == (
        "(not sent: DEBUG is on and DEVELOPMENT_EMAIL is not set: not sending email.)"
    )


def test_the_sample_message_is_the_services_own():
    message = samples()["helpdesk/email/ticket_update.html"]()
    assert (message.event, message.title, message.body, message.path) == (
        "helpdesk.ticket.update",
        "Help Desk Ticket #1042 updated",
        "Your ticket is now In Progress",
        "/help_desk/page/1042/detail/",
    )
    assert dict(message.context) == {
        "ticket_id": 1042,
        "purpose": "App",
        "status": "In Progress",
        "changed_by": "grace",
    }


@pytest.mark.parametrize(
    ("engine", "template"),
    [
        ("django", "admin/base.html"),
        ("mako", "helpdesk/email/ticket_new.html"),
        ("django", "helpdesk/email/missing.html"),
    ],
)
def test_anything_else_is_not_found(staff_client, engine, template):
    assert staff_client.get(preview_url(engine, template)).status_code == 404


def test_the_preview_page_links_to_the_other_engine(staff_client):
    page = staff_client.get(preview_url("django", "helpdesk/email/ticket_new.html")).content.decode()
    assert f'href="{html.escape(preview_url("jinja2", "helpdesk/email/ticket_new.html"))}"' in page


def test_names_the_registered_notification_type_of_each_template(staff_client):
    page = lxml.html.fromstring(staff_client.get(PREVIEWS).content)
    rows = [
        [cell.text_content().strip() for cell in row.cssselect("td")][:2]
        for row in page.cssselect("table.data tbody tr")
    ]
    assert rows == [
        ["helpdesk/email/ticket_comment.html", "New comment on a ticket"],
        ["helpdesk/email/ticket_new.html", "New help desk ticket"],
        ["helpdesk/email/ticket_update.html", "Ticket status changed"],
        ["spire_notify/email/notification.html", "Not registered"],
    ]
