"""spire_notify.channels.email.backend: the ticket email as rendered (pure, no database) and as delivered."""

import email
import email.policy
import functools
import logging
import re
import sys
import threading
from collections import Counter
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cssutils
import django
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sites.models import Site
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.locmem import EmailBackend as LocMemMailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPMailBackend
from django.template.loaders.filesystem import Loader as FilesystemLoader
from django.test import override_settings
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.provisional import domains

from spire_notify import Message, Recipient
from spire_notify.backends.base import Delivery, Outcome, Rendered
from spire_notify.backends.locmem import LocMemBackend
from spire_notify.channels.email.backend import EmailBackend
from spire_notify.channels.email.models import EmailNotification
from spire_notify.compat import FLATTENED_SMTP, HAS_MAILERS, get_mailer
from spire_notify.helpdesk.enums import TicketEventType
from spire_notify.helpdesk.models import DESCRIPTION_MAX_CHARS, HelpDeskTicket
from spire_notify.models import Notification
from spire_notify.pinned.django_smtp import SMTP_POLICY, recipient_envelope_and_header, sends_through_smtp
from spire_notify.worker.process import process_notifications
from tests.mail_settings import LOCMEM, mailer_settings
from tests.support.django_versions import flattened_smtp, modern_mime

# Rendering time varies with the machine's load; a deadline would only make the properties flaky.
no_deadline = hypothesis_settings(deadline=None)

SMTP = "django.core.mail.backends.smtp.EmailBackend"
LOCMEM_MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
DEVELOPER = Recipient(user_id=1, email="dev@example.com", name="Dev")
TICKET_PATH = "/help_desk/page/{pk}/detail/"

# Text a description may hold: any Unicode that UTF-8 can encode (lone surrogates cannot be
# sent or stored), except U+0000: HTML cannot carry it (parsers replace it with U+FFFD, see
# test_nul_character_is_replaced_not_a_crash), PostgreSQL cannot store it, and Django's form
# fields reject it.
any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"))
markup = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<b>",
        "</div>",
        "</td></tr></table>",
        "<!--",
        "-->",
        "<![CDATA[",
        "]]>",
        '<img src=x onerror="alert(1)">',
        "&",
        "&amp;",
        "&lt;",
        "&#60;",
        "&nbsp;",
        '"',
        "'",
        "<",
        ">",
        "{{ url }}",
        "{% block content %}",
        "\r\n",
        "\r",
        "\n",
        "\t",
        "\u202e",
        "😀",
        "ü",
        "Ω≈ç√",
        "\u00a0",
    ]
)
descriptions = any_text | st.lists(markup | any_text, max_size=12).map("".join)


class ParsedEmailHTML(HTMLParser):
    """The HTML of an email, parsed back: every start tag, the links, and the text of the
    ``description`` element together with any tag found inside it."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.links = []
        self.description = ""
        self.tags_in_description = []
        self.unstyled_classes = []
        self.styled_tags = 0
        self._in_description = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._in_description:
            self.tags_in_description.append(tag)
        self.tags.append(tag)
        self.styled_tags += "style" in attrs
        if attrs.get("class") and "style" not in attrs:
            self.unstyled_classes.append(attrs["class"])
        if tag == "a":
            self.links.append(attrs.get("href"))
        if "description" in (attrs.get("class") or "").split():
            self._in_description = True

    def handle_endtag(self, tag):
        if self._in_description and tag == "div":
            self._in_description = False

    def handle_data(self, data):
        if self._in_description:
            self.description += data


def as_html_reads_it(text):
    """``text`` after HTML's input preprocessing: every CR LF and lone CR becomes LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def ticket_message(*, pk=7, priority="high", purpose="app", description="Login page throws a 500."):
    """The NEW message of an unsaved ticket, built by the help desk service: no database."""
    ticket = HelpDeskTicket(
        pk=pk,
        priority=priority,
        purpose=purpose,
        description=description,
        created_by=get_user_model()(username="requester"),
    )
    return ticket.services.notification.build_message(TicketEventType.NEW)


def html_of(rendered):
    """The HTML alternative of a rendered email: the row keeps only the short text."""
    return rendered.content.alternatives[0].content


def render(message, recipient=DEVELOPER, **options):
    return EmailBackend(alias="email", domain="example.com", **options).render(message, recipient)


def tags_with_plain_description():
    return ParsedEmailHTML(html_of(render(ticket_message(description="plain")))).tags


@functools.cache
def baseline_tags():
    """The tags of the ticket email, with the test settings' templates, for a harmless
    description: no description may add or remove any."""
    return tags_with_plain_description()


# Rendering: URLs


@no_deadline
@given(pk=st.integers(min_value=1, max_value=2**63 - 1), domain=domains())
def test_url_is_https_domain_and_the_ticket_path(pk, domain):
    backend = EmailBackend(alias="email", domain=domain)
    rendered = backend.render(ticket_message(pk=pk), DEVELOPER)
    url = f"https://{domain}" + TICKET_PATH.format(pk=pk)
    assert rendered.url == url
    ticket_link, site_link, unsubscribe, preferences = ParsedEmailHTML(html_of(rendered)).links
    assert (ticket_link, site_link) == (url, f"https://{domain}/")
    assert unsubscribe.startswith(f"https://{domain}/notifications/unsubscribe/")
    assert preferences == f"https://{domain}/notifications/preferences/"
    assert rendered.content.body.endswith(f"Open it: {url}")


def test_protocol_option():
    rendered = render(ticket_message(pk=3), protocol="http")
    assert rendered.url == "http://example.com/help_desk/page/3/detail/"


def test_message_without_a_path_has_no_url_and_no_button():
    rendered = render(Message(event="e", title="Hello", body="Body"))
    assert rendered.url == ""
    # An unregistered event has no unsubscribe link; a user still gets the settings page.
    assert ParsedEmailHTML(html_of(rendered)).links == [
        "https://example.com/",
        "https://example.com/notifications/preferences/",
    ]


# Rendering: the description, escaped


@no_deadline
@given(description=descriptions)
@example(description="<script>alert('x')</script>")
@example(description='</div><div class="description">forged</div>')
def test_description_appears_escaped_and_never_as_markup(description):
    rendered = render(ticket_message(description=description))
    parsed = ParsedEmailHTML(html_of(rendered))
    assert parsed.description == as_html_reads_it(description)
    assert parsed.tags_in_description == []
    assert parsed.tags == baseline_tags()


@no_deadline
@given(description=descriptions)
def test_plain_text_part_holds_the_raw_description(description):
    rendered = render(ticket_message(description=description))
    assert f"Description:\n{description}\n\nOpen it: " in rendered.content.body
    # And the MIME message that goes over the wire can be built from it.
    assert rendered.content.message().as_bytes()


def test_nul_character_is_replaced_not_a_crash():
    parsed = ParsedEmailHTML(html_of(render(ticket_message(description="a\x00b"))))
    assert parsed.description == "a\ufffdb"


def test_one_megabyte_description_is_escaped_whole():
    description = ("<script>alert('x')</script> & ünïcödé 😀\n" * 30_000)[:1_000_000]
    rendered = render(ticket_message(description=description))
    parsed = ParsedEmailHTML(html_of(rendered))
    assert parsed.description == description
    assert parsed.tags == baseline_tags()
    assert description in rendered.content.body


# Rendering: subject and headers


@no_deadline
@given(title=any_text)
@example(title="Hi\r\nBcc: victim@example.com")
@example(title="Hi\nContent-Type: text/plain")
@modern_mime
def test_subject_is_one_line_and_cannot_inject_headers(title):
    rendered = render(Message(event="e", title=title, path="/p/"))
    subject = rendered.content.subject
    assert subject == " ".join(title.split())
    assert subject.splitlines() == ([subject] if subject else [])
    sent = email.message_from_bytes(rendered.content.message().as_bytes(), policy=email.policy.default)
    assert sent["Subject"] == subject
    assert Counter(sent.keys()) == Counter(
        ["Content-Type", "MIME-Version", "Subject", "From", "To", "Date", "Message-ID"]
    )


def test_ticket_subject_text_and_html_blocks():
    rendered = render(ticket_message(pk=42, priority="urgent", purpose="company", description="Down."))
    email_message = rendered.content
    assert email_message.subject == "[Urgent] New Help Desk Ticket #42"
    assert email_message.body == (
        "Hello Dev,\n\n"
        "A new help desk ticket was created.\n\n"
        "Ticket ID: 42\n"
        "Priority:  Urgent\n"
        "Purpose:   Company\n\n"
        "Description:\n"
        "Down.\n\n"
        "Open it: https://example.com/help_desk/page/42/detail/"
    )
    html = html_of(rendered)
    assert html_of(rendered) == html
    for fragment in [
        "<th",
        ">Ticket ID</th>",
        ">#42</td>",
        ">Urgent</td>",
        ">Company</td>",
        ">requester</td>",
        ">View ticket #42</a>",
    ]:
        assert fragment in html


ENGINES = pytest.mark.parametrize("engine", [None, "jinja2"], ids=["django", "jinja2"])


@ENGINES
def test_extends_renders_the_parents_blocks(engine):
    # The ticket template fills content, subject, text_body and action_label; the header,
    # footer, <head> and button come from spire_notify/email/base.html (or its Jinja2 twin).
    html = html_of(render(ticket_message(pk=5), engine=engine))
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>New Help Desk Ticket #5</title>" in html
    assert ">example.com</td>" in html
    assert ">View ticket #5</a>" in html
    assert 'You receive this because of your role on <a href="https://example.com/"' in html


@ENGINES
def test_layout_alone_renders_title_summary_and_url(engine):
    rendered = render(Message(event="e", title="Hello & bye", body="World", path="/p/"), engine=engine)
    assert rendered.content.subject == "Hello & bye"
    assert rendered.content.body == "Hello Dev,\n\nHello & bye\n\nWorld\n\nhttps://example.com/p/"
    assert ">Hello &amp; bye</h1>\n<p>World</p>" in html_of(rendered)


@ENGINES
@pytest.mark.parametrize("inliner", ["premailer", "css_inline"])
def test_the_layout_is_fluid_up_to_600_pixels(engine, inliner):
    # Clients follow width="100%" and the inlined max-width; only Outlook for Windows, which
    # ignores max-width, is given a fixed table, inside comments no other client reads.
    html = html_of(render(ticket_message(), engine=engine, inliner=inliner))
    container = re.search(r'<table [^>]*class="container"[^>]*>', html).group(0)
    assert 'width="100%"' in container
    assert re.search(r"max-width: ?600px", container)
    outside_outlook = re.sub(r"<!--\[if mso\]>.*?<!\[endif\]-->", "", html, flags=re.DOTALL)
    assert re.findall(r'(?<!max-)width(?:="|: ?)600', outside_outlook) == []
    assert html.count("<!--[if mso]>") == 2


# Inlining


def test_premailer_inlines_the_style_block():
    html = html_of(render(ticket_message()))
    parsed = ParsedEmailHTML(html)
    assert "<style" not in html
    assert 'class="description" style="white-space:pre-wrap;' in html
    assert parsed.unstyled_classes == []


def test_css_inline_option_inlines_the_style_block():
    html = html_of(render(ticket_message(), inliner="css_inline"))
    assert "<style" not in html
    assert 'class="description" style="white-space: pre-wrap;' in html
    assert ParsedEmailHTML(html).unstyled_classes == []
    assert ParsedEmailHTML(html).description == "Login page throws a 500."


def test_no_inliner_keeps_the_style_block():
    html = html_of(render(ticket_message(), inliner=None))
    assert "<style>" in html
    assert ParsedEmailHTML(html).styled_tags == 0


def test_unknown_inliner_is_a_check_error_and_stops_the_worker():
    backend = EmailBackend(alias="email", inliner="inkblot")
    assert [error.id for error in backend.check()] == ["spire_notify.E012"]
    with pytest.raises(
        ImproperlyConfigured,
        match=r"^spire_notify\.E012: NOTIFY_BACKENDS\['email'\]: unknown inliner 'inkblot'\.$",
    ):
        backend.validate()


@pytest.fixture
def stylesheet_server():
    """A local HTTP server serving CSS; it records every request made to it."""
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            body = b"td { color: red; }"
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", requests
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def project_templates(tmp_path):
    """A project template directory searched before the app's templates."""

    def write(name, text):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    engine = {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [tmp_path],
        "APP_DIRS": True,
    }
    with override_settings(TEMPLATES=[engine]):
        yield write


EXTERNAL_CSS_TEMPLATE = """{% extends "spire_notify/email/base.html" %}
{% block content %}<link rel="stylesheet" href="{{ css }}/linked.css">
<style>@import url("{{ css }}/imported.css"); td { mso-line-height-rule: exactly; -webkit-text-size-adjust: 100%; } </style>
<table><tr><td>Body</td></tr></table>{% endblock %}"""


@pytest.mark.parametrize("inliner", ["premailer", "css_inline"])
def test_inliners_never_fetch_stylesheets(inliner, stylesheet_server, project_templates):
    base_url, requests = stylesheet_server
    project_templates("custom/external.html", EXTERNAL_CSS_TEMPLATE)
    message = Message(event="e", title="t", template="custom/external.html", context={"css": base_url})
    html = html_of(render(message, inliner=inliner))
    assert ">Body</td>" in html
    assert requests == []


def test_premailer_is_quiet_about_vendor_css(project_templates, caplog, capfd):
    project_templates("custom/external.html", EXTERNAL_CSS_TEMPLATE)
    message = Message(
        event="e", title="t", template="custom/external.html", context={"css": "https://x.invalid"}
    )
    # cssutils' log level is process-wide: start from its noisy default so this test means something.
    cssutils.log.setLevel(logging.INFO)
    capfd.readouterr()
    with caplog.at_level(logging.WARNING):
        html = html_of(render(message))
    assert "mso-line-height-rule:exactly" in html
    assert caplog.records == []
    assert capfd.readouterr() == ("", "")


def test_project_template_overrides_the_default_by_name(project_templates):
    project_templates(
        "helpdesk/email/ticket_new.html",
        '{% extends "spire_notify/email/base.html" %}{% block content %}<p>Ours: {{ target.pk }}</p>{% endblock %}',
    )
    rendered = render(ticket_message(pk=9))
    # Only content is overridden: subject, text and layout come from the default layout.
    assert rendered.content.subject == "New Help Desk Ticket #9"
    assert ">Ours: 9</p>" in html_of(rendered)
    assert "View ticket" not in html_of(rendered)


# What notify() asks before writing: can this template be rendered?


def test_check_template_is_empty_for_a_template_that_exists():
    assert EmailBackend(alias="email").check_template("helpdesk/email/ticket_new.html") == ""
    assert EmailBackend(alias="email", engine="jinja2").check_template("spire_notify/email/base.html") == ""


def test_check_template_names_the_template_and_the_engines_that_lack_it():
    assert EmailBackend(alias="email").check_template("billing/email/nope.html") == (
        "The email template 'billing/email/nope.html' does not exist in the template engines 'django', 'jinja2'."
    )
    assert EmailBackend(alias="email", engine="jinja2").check_template("helpdesk/x.html") == (
        "The email template 'helpdesk/x.html' does not exist in the template engine 'jinja2'."
    )
    assert EmailBackend(alias="email", engine="jinja3").check_template("helpdesk/x.html") == (
        "The email template engine 'jinja3' is not in TEMPLATES."
    )


def test_check_template_quotes_a_syntax_error(project_templates):
    project_templates("custom/broken.html", "{% block subject %}unclosed")
    problem = EmailBackend(alias="email").check_template("custom/broken.html")
    # Django's own words are quoted; from 6.0 they start with the template's path.
    assert problem.startswith("The email template 'custom/broken.html' cannot be compiled: ")
    assert problem.endswith("Unclosed tag on line 1: 'block'. Looking for one of: endblock.")


class CountingLoader(FilesystemLoader):
    """A filesystem loader (not wrapped in Django's cached loader) that counts its loads."""

    loaded = []

    def get_template(self, template_name, skip=None):
        self.loaded.append(template_name)
        return super().get_template(template_name, skip)


def counting_engine(directory):
    loader = (f"{__name__}.CountingLoader", [directory])
    return [{"BACKEND": "django.template.backends.django.DjangoTemplates", "OPTIONS": {"loaders": [loader]}}]


def test_check_template_is_cached_until_templates_change(tmp_path):
    (tmp_path / "invoice.html").write_text("{% block subject %}Paid{% endblock %}")
    backend = EmailBackend(alias="email")
    CountingLoader.loaded.clear()
    with override_settings(TEMPLATES=counting_engine(tmp_path)):
        # notify() asks on every call: a template found once is not loaded again.
        assert [backend.check_template("invoice.html") for _ in range(3)] == ["", "", ""]
        assert CountingLoader.loaded == ["invoice.html"]
    # override_settings (or any change of TEMPLATES) forgets what was found.
    (tmp_path / "invoice.html").unlink()
    with override_settings(TEMPLATES=counting_engine(tmp_path)):
        assert backend.check_template("invoice.html") == (
            "The email template 'invoice.html' does not exist in the template engine 'django'."
        )
        # What is missing is not remembered: looked for again, it is found once it exists.
        (tmp_path / "invoice.html").write_text("{% block subject %}Paid{% endblock %}")
        assert backend.check_template("invoice.html") == ""
    assert CountingLoader.loaded == ["invoice.html"] * 3


def test_a_backend_that_renders_no_templates_renders_any():
    assert LocMemBackend(alias="pager").check_template("anything/at/all.html") == ""


# Recipients and sender


def test_recipient_without_an_address_is_not_accepted():
    backend = EmailBackend(alias="email")
    assert not backend.accepts(Recipient(user_id=1, email=""))
    assert backend.accepts(DEVELOPER)


@override_settings(DEBUG=False)
def test_without_debug_email_goes_to_the_recipient_from_default_from_email():
    email_message = render(ticket_message()).content
    assert (email_message.from_email, email_message.to) == ("helpdesk@example.com", ["dev@example.com"])


@override_settings(
    DEBUG=True, DEVELOPMENT_EMAIL="inbox@dev.example.com", DEFAULT_FROM_EMAIL="desk@example.org"
)
def test_with_debug_every_email_goes_to_development_email():
    email_message = render(ticket_message()).content
    assert (email_message.from_email, email_message.to) == ("desk@example.org", ["inbox@dev.example.com"])


@override_settings(DEBUG=True, DEVELOPMENT_EMAIL="")
def test_with_debug_and_no_development_email_nothing_is_addressed_to_a_real_recipient():
    with pytest.raises(
        ValueError, match=r"^DEBUG is on and DEVELOPMENT_EMAIL is not set: not sending email\.$"
    ):
        render(ticket_message())


def test_from_email_option_wins_over_the_setting():
    assert render(ticket_message(), from_email="other@example.com").content.from_email == "other@example.com"


def test_render_many_renders_once_and_writes_each_recipient_in(monkeypatch):
    backend = EmailBackend(alias="email", domain="example.com")
    recipients = [Recipient(user_id=i, email=f"u{i}@example.com", name=f"Name {i}") for i in range(3)]
    inlined = []
    inline = backend.inline
    monkeypatch.setattr(backend, "inline", lambda html: inlined.append(html) or inline(html))
    renderings = backend.render_many(ticket_message(), recipients)
    assert [r.content.to for r in renderings] == [["u0@example.com"], ["u1@example.com"], ["u2@example.com"]]
    # The CSS was inlined once for the three; each email greets its recipient and links to
    # their own unsubscribe page.
    assert len(inlined) == 1
    htmls = [html_of(r) for r in renderings]
    assert [f">Hello Name {i},</p>" in html for i, html in enumerate(htmls)] == [True] * 3
    unsubscribe_links = [ParsedEmailHTML(html).links[2] for html in htmls]
    assert len(set(unsubscribe_links)) == 3
    assert [r.content.extra_headers["List-Unsubscribe"] for r in renderings] == [
        f"<{link}>" for link in unsubscribe_links
    ]


@pytest.mark.parametrize(
    ("mailers", "mailer", "check_id", "problem"),
    [
        (LOCMEM_MAILERS, "bulk", "spire_notify.E013", "the mailer 'bulk' is not in MAILERS."),
        (
            {"default": {"BACKEND": SMTP, "OPTIONS": {"hots": "x"}}},
            "default",
            "spire_notify.E018",
            "MAILERS['default']: Unknown options 'hots'.",
        ),
        (
            {"default": {"BACKEND": "nowhere.Backend"}},
            "default",
            "spire_notify.E018",
            "MAILERS['default']: Could not find BACKEND 'nowhere.Backend': No module named 'nowhere'",
        ),
    ],
)
@pytest.mark.skipif(
    not HAS_MAILERS, reason="MAILERS is Django 6.1's (tests/core/test_compat.py covers the others)"
)
def test_mailer_that_cannot_be_built_is_a_check_error(mailers, mailer, check_id, problem):
    with override_settings(MAILERS=mailers):
        errors = EmailBackend(alias="email", mailer=mailer).check()
    assert [(error.id, error.msg) for error in errors] == [(check_id, f"NOTIFY_BACKENDS['email']: {problem}")]


@pytest.mark.skipif(
    not HAS_MAILERS, reason="MAILERS is Django 6.1's (tests/core/test_compat.py covers the others)"
)
@override_settings()
def test_without_mailers_only_the_default_mailer_exists():
    del settings.MAILERS
    assert EmailBackend(alias="email").check() == []
    assert [error.msg for error in EmailBackend(alias="email", mailer="bulk").check()] == [
        "NOTIFY_BACKENDS['email']: the mailer 'bulk' is not in MAILERS."
    ]


# Delivery (database)


class RefusingMailBackend(LocMemMailBackend):
    """Django's locmem mail backend, except that one address makes it fail."""

    def send_messages(self, messages):
        for message in messages:
            if "broken@example.com" in message.to:
                raise RuntimeError("mailbox on fire")
        return super().send_messages(messages)


@pytest.mark.django_db
@override_settings(
    ADMINS=["dev@example.com", "broken@example.com", "third@example.com"],
    **mailer_settings(f"{__name__}.RefusingMailBackend"),
)
def test_a_failing_email_is_errored_with_its_error_and_the_rest_is_delivered(make_user, create_and_deliver):
    for name in ("dev", "broken", "third"):
        make_user(name)
    create_and_deliver()
    rows = Notification.objects.filter(channel="email").select_related("email").order_by("user__username")
    assert [(row.email.to_email_address, row.status, row.last_error, row.attempts) for row in rows] == [
        ("broken@example.com", "errored", "RuntimeError: mailbox on fire", 1),
        ("dev@example.com", "sent", "", 1),
        ("third@example.com", "sent", "", 1),
    ]
    assert sorted(message.to[0] for message in mail.outbox) == ["dev@example.com", "third@example.com"]
    assert set(Notification.objects.filter(channel="app").values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_delivered_email_end_to_end(developer, manager, create_and_deliver):
    ticket = create_and_deliver(description="<b>bold?</b>")
    row = Notification.objects.get(channel="email")
    url = f"https://example.com/help_desk/page/{ticket.pk}/detail/"
    assert (row.user, row.status, row.url) == (developer, "sent", url)
    assert EmailNotification.objects.get().to_email_address == "Dev@example.com"
    [sent] = mail.outbox
    assert sent.to == ["Dev@example.com"]
    assert sent.extra_headers["Message-ID"] == f"<notification.{row.pk}@example.com>"
    assert ParsedEmailHTML(sent.alternatives[0].content).description == "<b>bold?</b>"


@pytest.mark.parametrize(
    ("domain", "message_id"),
    [
        ("help.example.org", "<notification.5@help.example.org>"),
        ("Help.Example.ORG", "<notification.5@help.example.org>"),
        ("localhost:8000", "<notification.5@localhost>"),
        ("bücher.example", "<notification.5@xn--bcher-kva.example>"),
        ("[::1]:8000", "<notification.5@[::1]>"),
    ],
)
def test_message_id_is_a_valid_header_whatever_the_domain(domain, message_id):
    delivery = Delivery(notification=Notification(pk=5), rendered=Rendered(body="", url=""))
    assert EmailBackend(alias="email", domain=domain).message_id(delivery) == message_id
    parsed = email.message_from_bytes(f"Message-ID: {message_id}\n\n".encode(), policy=email.policy.default)
    assert (str(parsed["Message-ID"]), parsed["Message-ID"].defects) == (message_id, ())


@pytest.mark.django_db
@pytest.mark.parametrize("domain", ["help.example.org", "xn--bcher-kva.example", "localhost:8000"])
def test_email_url_takes_the_current_sites_domain(domain, developer, create_and_deliver):
    Site.objects.filter(pk=1).update(domain=domain)
    Site.objects.clear_cache()
    try:
        ticket = create_and_deliver()
    finally:
        Site.objects.clear_cache()
    assert (
        Notification.objects.get(channel="email").url
        == f"https://{domain}/help_desk/page/{ticket.pk}/detail/"
    )
    assert f"https://{domain}/help_desk/page/{ticket.pk}/detail/" in mail.outbox[0].body


@pytest.mark.django_db
@ENGINES
@pytest.mark.parametrize(
    ("name", "header"), [("Acme Support", "Acme Support"), ("", "127.0.0.1:17080")], ids=["name", "no name"]
)
def test_the_header_shows_the_sites_name_and_its_domain_only_without_one(engine, name, header):
    Site.objects.filter(pk=1).update(domain="127.0.0.1:17080", name=name)
    Site.objects.clear_cache()
    try:
        rendered = EmailBackend(alias="email", engine=engine).render(ticket_message(), DEVELOPER)
    finally:
        Site.objects.clear_cache()
    html = html_of(rendered)
    assert re.search(r'<td class="header"[^>]*>([^<]*)</td>', html).group(1) == header
    # The footer still links to the site by its domain.
    assert 'You receive this because of your role on <a href="https://127.0.0.1:17080/"' in html


@pytest.mark.django_db
def test_the_longest_description_is_delivered(developer, create_and_deliver):
    description = ("<script>alert('x')</script> & ünïcödé 😀\n" * 30_000)[:DESCRIPTION_MAX_CHARS]
    create_and_deliver(description=description)
    assert Notification.objects.get(channel="email").status == "sent"
    [sent] = mail.outbox
    assert ParsedEmailHTML(sent.alternatives[0].content).description == description
    assert description in sent.body


@pytest.mark.django_db
@pytest.mark.skipif(
    not HAS_MAILERS, reason="MAILERS is Django 6.1's (tests/core/test_compat.py covers the others)"
)
@override_settings(MAILERS={"default": {"BACKEND": SMTP, "OPTIONS": {"hots": "x"}}})
def test_worker_refuses_a_mailer_that_cannot_be_built(developer, create_ticket):
    create_ticket()
    with pytest.raises(ImproperlyConfigured) as raised:
        process_notifications()
    assert (
        str(raised.value)
        == "spire_notify.E018: NOTIFY_BACKENDS['email']: MAILERS['default']: Unknown options 'hots'."
    )
    assert set(Notification.objects.filter(channel="email").values_list("status", flat=True)) == {"pending"}
    assert mail.outbox == []


# Configuration checks


def test_template_that_does_not_compile_is_a_check_error(project_templates, tmp_path):
    project_templates("broken.html", "{% block subject %}unclosed")
    errors = EmailBackend(alias="email", template="broken.html").check()
    assert [(error.id, error.msg) for error in errors] == [
        (
            "spire_notify.E019",
            "NOTIFY_BACKENDS['email']: the template 'broken.html' cannot be compiled: "
            # Django 6.0 names the template in the error.
            + (f"Template: {tmp_path / 'broken.html'}, " if django.VERSION >= (6, 0) else "")
            + "Unclosed tag on line 1: 'block'. Looking for one of: endblock.",
        )
    ]


def test_template_that_does_not_exist_is_a_check_error():
    errors = EmailBackend(alias="email", template="nowhere/email.html").check()
    assert [(error.id, error.hint) for error in errors] == [
        ("spire_notify.E015", "Create the template, or name an existing one in the 'template' option.")
    ]


@override_settings(
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {"autoescape": False},
        }
    ]
)
def test_django_engine_without_autoescape_still_escapes_email():
    # Blocks are rendered in a fresh Context, which escapes whatever the engine's option says.
    assert EmailBackend(alias="email").check() == []
    parsed = ParsedEmailHTML(html_of(render(ticket_message(description="<i>x</i>"))))
    assert (parsed.description, parsed.tags) == ("<i>x</i>", tags_with_plain_description())


def test_css_inline_inliner_without_its_package_is_a_check_error(monkeypatch):
    # A None entry in sys.modules is how Python marks a module as not importable.
    monkeypatch.setitem(sys.modules, "css_inline", None)
    errors = EmailBackend(alias="email", inliner="css_inline").check()
    assert [(error.id, error.msg, error.hint) for error in errors] == [
        (
            "spire_notify.E017",
            "NOTIFY_BACKENDS['email']: the 'css_inline' inliner needs the css-inline package.",
            "pip install 'spire-notify[css-inline]', or use the 'premailer' inliner.",
        )
    ]


# Which path a mailer gets (the SMTP one itself is tested against a server in test_email_smtp.py)


class SigningSMTPMailBackend(SMTPMailBackend):
    """An SMTP mailer that changes how it sends, like a DKIM-signing one would."""

    def send_messages(self, email_messages):
        return super().send_messages(email_messages)


class QuietSMTPMailBackend(SMTPMailBackend):
    """An SMTP mailer subclass that sends as Django's does."""


SMTP_OPTIONS = {"host": "127.0.0.1"}


@pytest.mark.parametrize(
    ("mailer", "fast"),
    [
        ({"BACKEND": SMTP, "OPTIONS": SMTP_OPTIONS}, True),
        ({"BACKEND": f"{__name__}.QuietSMTPMailBackend", "OPTIONS": SMTP_OPTIONS}, True),
        pytest.param(
            {"BACKEND": SMTP, "OPTIONS": {**SMTP_OPTIONS, "fail_silently": True}},
            False,
            marks=pytest.mark.skipif(not HAS_MAILERS, reason="no EMAIL_* setting for fail_silently"),
        ),
        ({"BACKEND": f"{__name__}.SigningSMTPMailBackend", "OPTIONS": SMTP_OPTIONS}, False),
        ({"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}, False),
        ({"BACKEND": "django.core.mail.backends.console.EmailBackend"}, False),
    ],
)
def test_only_djangos_own_smtp_sending_takes_the_flattened_path(mailer, fast):
    with override_settings(**mailer_settings(mailer["BACKEND"], **mailer.get("OPTIONS", {}))):
        assert sends_through_smtp(get_mailer("default")) is (fast and FLATTENED_SMTP)


@override_settings(**mailer_settings(LOCMEM), DEBUG=False)
def test_a_mailer_other_than_smtp_gets_an_email_message_per_recipient():
    backend = EmailBackend(alias="email", domain="example.com")
    recipients = [Recipient(user_id=i, email=f"u{i}@example.com") for i in range(2)]
    deliveries = [
        Delivery(notification=Notification(pk=pk), rendered=rendered)
        for pk, rendered in enumerate(backend.render_many(ticket_message(), recipients), start=1)
    ]
    assert backend.send(deliveries) == [Outcome.success()] * 2
    # On Django 5.2 a subclass that keeps List-Unsubscribe on one line (OneLineHeadersEmail).
    assert all(isinstance(sent, EmailMultiAlternatives) for sent in mail.outbox)
    assert len(mail.outbox) == 2
    assert [(sent.to, sent.extra_headers["Message-ID"]) for sent in mail.outbox] == [
        (["u0@example.com"], "<notification.1@example.com>"),
        (["u1@example.com"], "<notification.2@example.com>"),
    ]
    assert [sent.alternatives[0].mimetype for sent in mail.outbox] == ["text/html"] * 2


@given(
    address=st.emails()
    | st.builds(
        "{}@{}".format,
        st.from_regex(r"[a-z0-9.]{1,20}", fullmatch=True),
        st.sampled_from(["bücher.example", "пример.испытание", "example.com", "x" * 70 + ".example"]),
    )
)
@example(address="Jörg Müller <joerg@bücher.example>")
@example(address='"quoted local"@example.com')
@example(address="x" * 60 + "@example.com")
@flattened_smtp
def test_envelope_recipient_and_to_header_are_the_ones_django_writes(address):
    mailer = SMTPMailBackend(alias="default", host="127.0.0.1")
    try:
        djangos = (
            mailer.prep_address(address),
            SMTP_POLICY.fold_binary(
                "To", EmailMultiAlternatives(to=[address]).message(policy=SMTP_POLICY)["To"]
            ),
        )
    except ValueError as error:
        with pytest.raises(ValueError, match=f"^{re.escape(str(error))}$"):
            recipient_envelope_and_header(mailer, address)
    else:
        assert recipient_envelope_and_header(mailer, address) == djangos


def test_a_digest_has_a_message_id_of_its_own_kind():
    delivery = Delivery(notification=Notification(pk=5), rendered=Rendered(body="", url=""), kind="digest")
    assert EmailBackend(alias="email", domain="example.com").message_id(delivery) == "<digest.5@example.com>"
