"""The default email templates greet the recipient by name and carry the footer's unsubscribe
and settings links, in both engines, whatever the name contains."""

import lxml.html
import pytest
from django.contrib.auth import get_user_model
from hypothesis import given, settings
from hypothesis import strategies as st

from spire_notify.channels.email.backend import DEFAULT_TEMPLATE
from spire_notify.channels.email.templated import TemplatedEmail
from spire_notify.helpdesk.choices import HelpDeskTicketPriorityChoices, HelpDeskTicketPurposeChoices
from spire_notify.helpdesk.enums import TicketEventType
from spire_notify.helpdesk.models import HelpDeskTicket, HelpDeskTicketComment
from spire_notify.helpdesk.services.notification_service import HelpDeskTicketNotificationService
from spire_notify.message import Message, Recipient

ENGINES = ["django", "jinja2"]
# Names as people type them: any printable text (control characters cannot reach an HTML parser).
NAMES = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=40).filter(str.strip)


def messages():
    ticket = HelpDeskTicket(
        pk=5,
        created_by=get_user_model()(username="ada"),
        purpose=HelpDeskTicketPurposeChoices.APP,
        priority=HelpDeskTicketPriorityChoices.LOW,
        description="Broken.",
    )
    service = HelpDeskTicketNotificationService(ticket)
    comment = HelpDeskTicketComment(author=get_user_model()(username="grace"), body="Fixed.")
    return [
        Message(
            event="e", title="Export ready", body="1,204 rows.", path="/exports/1/", template=DEFAULT_TEMPLATE
        ),
        service.build_message(TicketEventType.NEW),
        service.build_message(TicketEventType.UPDATE),
        service.build_message(TicketEventType.COMMENT, comment=comment),
    ]


MESSAGES = messages()


def render(message, engine, **context):
    email = TemplatedEmail(
        template_name=message.template,
        context={
            **message.context,
            "message": message,
            "target": message.target,
            "url": "https://example.com/x/",
            "domain": "example.com",
            "protocol": "https",
        }
        | context,
        engine=engine,
    )
    email.render()
    return email.content()


def greeting(html):
    return lxml.html.fromstring(html).cssselect("p.greeting")[0].text_content()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("message", MESSAGES, ids=lambda message: message.template)
def test_greets_by_name(engine, message):
    content = render(message, engine, recipient=Recipient(user_id=1, email="ann@example.org", name="Ann Lee"))
    assert content.text.startswith("Hello Ann Lee,\n\n")
    assert greeting(content.html) == "Hello Ann Lee,"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("message", MESSAGES, ids=lambda message: message.template)
@pytest.mark.parametrize(
    "recipient", [None, Recipient(user_id=None, email="guest@example.org")], ids=["no recipient", "no name"]
)
def test_without_a_name_the_greeting_is_plain(engine, message, recipient):
    content = render(message, engine, **({"recipient": recipient} if recipient else {}))
    assert content.text.startswith("Hello,\n\n")
    assert greeting(content.html) == "Hello,"


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=40, deadline=None)
@given(name=NAMES)
def test_any_name_is_text_in_html_and_verbatim_in_the_text_part(engine, name):
    content = render(MESSAGES[1], engine, recipient=Recipient(user_id=1, email="a@example.org", name=name))
    assert content.text.startswith(f"Hello {name},")
    # Read back as text: markup in a name ("<b>", "&amp;") stays the characters typed.
    assert greeting(content.html) == f"Hello {name},"


@pytest.mark.parametrize("engine", ENGINES)
def test_the_footer_links_to_unsubscribe_and_settings(engine):
    content = render(
        MESSAGES[1],
        engine,
        unsubscribe_url="https://example.com/notifications/unsubscribe/t0k3n/",
        preferences_url="https://example.com/notifications/preferences/",
    )
    links = lxml.html.fromstring(content.html).cssselect(".footer a")
    assert [(link.text_content(), link.get("href")) for link in links] == [
        ("example.com", "https://example.com/"),
        ("Unsubscribe from these emails", "https://example.com/notifications/unsubscribe/t0k3n/"),
        ("Notification settings", "https://example.com/notifications/preferences/"),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_without_links_the_footer_only_says_why(engine):
    footer = lxml.html.fromstring(render(MESSAGES[1], engine).html).cssselect(".footer")[0]
    assert [link.get("href") for link in footer.cssselect("a")] == ["https://example.com/"]
    assert footer.text_content() == "You receive this because of your role on example.com."
