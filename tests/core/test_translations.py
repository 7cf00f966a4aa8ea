"""The shipped German catalogue: every string marked for translation is in it, every entry is
translated and compiled, and the help desk's notifications and emails come out in German."""

import gettext
import io
from pathlib import Path

import lxml.html
import pytest
from babel.messages.extract import extract
from babel.messages.pofile import read_po
from django.contrib.auth import get_user_model
from django.template import engines
from django.utils import translation
from django.utils.translation.template import templatize

from spire_notify.channels.email.templated import TemplatedEmail
from spire_notify.helpdesk.choices import (
    HelpDeskTicketPriorityChoices,
    HelpDeskTicketPurposeChoices,
    HelpDeskTicketStatusChoices,
)
from spire_notify.helpdesk.enums import TicketEventType
from spire_notify.helpdesk.models import HelpDeskTicket, HelpDeskTicketComment
from spire_notify.helpdesk.services.notification_service import HelpDeskTicketNotificationService

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "spire_notify" / "locale" / "de" / "LC_MESSAGES"
PYTHON_SOURCES = [*sorted((ROOT / "spire_notify").glob("*.py")), *sorted((ROOT / "helpdesk").rglob("*.py"))]
DJANGO_TEMPLATES = sorted(
    path for folder in ["spire_notify", "helpdesk"] for path in (ROOT / "templates" / folder).rglob("*.html")
)
JINJA2_TEMPLATES = sorted((ROOT / "templates" / "jinja2").rglob("*.html"))
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "ngettext": (1, 2),
    "pgettext_lazy": ((1, "c"), 2),
}


def catalogue():
    with (LOCALE / "django.po").open("rb") as po:
        return read_po(po)


def msgids_of_python(source):
    found = extract("python", io.BytesIO(source.encode()), keywords=KEYWORDS)
    return {message if isinstance(message, str) else message[0] for _, message, _, _ in found}


def marked_strings():
    """``{msgid: where}`` of everything marked in the code and in both engines' templates."""
    marked = {}
    for path in PYTHON_SOURCES:
        marked |= dict.fromkeys(msgids_of_python(path.read_text()), path.name)
    for path in DJANGO_TEMPLATES:
        marked |= dict.fromkeys(msgids_of_python(templatize(path.read_text())), path.name)
    jinja2 = engines["jinja2"].env
    for path in JINJA2_TEMPLATES:
        for _, _, message in jinja2.extract_translations(path.read_text()):
            # A {% trans %} with variables comes as (msgid, None, ...).
            marked[message if isinstance(message, str) else message[0]] = path.name
    return marked


def test_every_string_marked_for_translation_is_in_the_catalogue():
    known = {message.id for message in catalogue() if message.id}
    marked = marked_strings()
    assert len(marked) > 50
    assert {msgid: where for msgid, where in marked.items() if msgid not in known} == {}


def test_every_msgid_of_the_shipped_catalogue_is_translated():
    messages = [message for message in catalogue() if message.id]
    assert [message.id for message in messages if not message.string or message.fuzzy] == []
    assert catalogue().locale.language == "de"


def test_the_compiled_catalogue_matches_its_source():
    with (LOCALE / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    assert {m.id: compiled.gettext(m.id) for m in catalogue() if m.id} == {
        m.id: m.string for m in catalogue() if m.id
    }


def ticket(**fields):
    values = {
        "pk": 7,
        "created_by": get_user_model()(username="ada"),
        "purpose": HelpDeskTicketPurposeChoices.APP,
        "priority": HelpDeskTicketPriorityChoices.HIGH,
        "status": HelpDeskTicketStatusChoices.IN_PROGRESS,
        "description": "Die Anmeldung schlägt fehl.",
    }
    return HelpDeskTicket(**values | fields)


def test_labels_titles_and_bodies_in_german():
    service = HelpDeskTicketNotificationService(ticket())
    comment = HelpDeskTicketComment(author=get_user_model()(username="grace"), body="Behoben.")
    with translation.override("de"):
        assert str(HelpDeskTicketPriorityChoices.HIGH.label) == "Hoch"
        assert ticket().get_status_display() == "In Bearbeitung"
        new = service.build_message(TicketEventType.NEW)
        update = service.build_message(TicketEventType.UPDATE)
        commented = service.build_message(TicketEventType.COMMENT, comment=comment)
    assert (new.title, new.body, new.priority, new.context["purpose"]) == (
        "Neues Helpdesk-Ticket #7",
        "Priorität: Hoch - Zweck: App",
        "Hoch",
        "App",
    )
    assert (update.title, update.body) == (
        "Helpdesk-Ticket #7 aktualisiert",
        "Ihr Ticket ist jetzt In Bearbeitung",
    )
    assert (commented.title, commented.body) == ("Neuer Kommentar zu Helpdesk-Ticket #7", "grace: Behoben.")
    assert service.build_message(TicketEventType.NEW).title == "New Help Desk Ticket #7"


def render_email(message, engine, **context):
    """The blocks of ``message``'s template as the email backend renders them, plus ``context``."""
    email = TemplatedEmail(
        template_name=message.template,
        context={
            **message.context,
            "message": message,
            "target": message.target,
            "url": "https://help.example.com/help_desk/page/7/detail/",
            "domain": "help.example.com",
            "protocol": "https",
        }
        | context,
        engine=engine,
    )
    email.render()
    return email.content()


@pytest.mark.parametrize("engine", ["django", "jinja2"])
def test_a_new_ticket_email_in_german(engine):
    with translation.override("de"):
        message = HelpDeskTicketNotificationService(ticket()).build_message(TicketEventType.NEW)
        content = render_email(message, engine, recipient={"name": "Ada", "email": "ada@example.de"})
    assert content.subject == "[Hoch] Neues Helpdesk-Ticket #7"
    assert content.text.startswith(
        "Hallo Ada,\n\nEin neues Helpdesk-Ticket wurde erstellt.\n\nTicket-ID: 7\nPriorität:  Hoch\n"
    )
    page = lxml.html.fromstring(content.html)
    assert page.get("lang") == "de"
    assert [th.text_content() for th in page.cssselect(".facts th")] == [
        "Ticket-ID",
        "Priorität",
        "Zweck",
        "Erstellt von",
    ]
    assert page.cssselect("a.button")[0].text_content() == "Ticket #7 ansehen"
    assert "Sie erhalten diese Nachricht wegen Ihrer Rolle auf" in page.cssselect(".footer")[0].text_content()


@pytest.mark.parametrize("engine", ["django", "jinja2"])
@pytest.mark.parametrize("event", list(TicketEventType))
def test_every_help_desk_email_has_no_english_left_in_german(engine, event):
    comment = HelpDeskTicketComment(author=get_user_model()(username="grace"), body="Behoben.")
    details = {"comment": comment} if event == TicketEventType.COMMENT else {}
    with translation.override("de"):
        message = HelpDeskTicketNotificationService(ticket()).build_message(event, **details)
        content = render_email(message, engine)
    for english in [
        "Hello",
        "Ticket ID",
        "Priority",
        "Purpose",
        "Open",
        "View ticket",
        "Reply",
        "wrote",
        "You receive",
    ]:
        assert english not in content.text + content.html, english
