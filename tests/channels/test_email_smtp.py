"""Delivery over real SMTP: Django's SMTP mail backend talking to an aiosmtpd server on 127.0.0.1."""

import email
import email.policy
import re
import smtplib
import socket

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import EmailMultiAlternatives
from django.test import override_settings
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from spire_notify import Message, Recipient
from spire_notify.backends.base import Delivery, Outcome
from spire_notify.channels.email.backend import EmailBackend
from spire_notify.compat import get_mailer
from spire_notify.helpdesk.models import DESCRIPTION_MAX_CHARS
from spire_notify.models import Notification
from spire_notify.pinned.django_smtp import FlattenedMIME, flatten_without_recipient, send_through_mailer
from spire_notify.pinned.smtp_pipelining import can_pipeline, send_pipelined
from tests.channels.test_backend_email import DEVELOPER, ParsedEmailHTML, any_text, ticket_message
from tests.mail_settings import email_connections, smtp_settings
from tests.support.django_versions import flattened_smtp
from tests.support.faulty_smtp import FaultySMTPServer

pytestmark = pytest.mark.django_db

REFUSED = "gone@example.com"
UNAVAILABLE = "busy@example.com"
BLOCKED_SENDER = "blocked@example.com"


class RecordingHandler:
    """Accepts mail like a relay would, except: refuses REFUSED at RCPT with a 550, answers
    451 at DATA for mail to UNAVAILABLE and refuses BLOCKED_SENDER at MAIL with a 553. With
    ``pipelining``, it advertises PIPELINING, as Postfix and most relays do."""

    def __init__(self, pipelining=False):
        self.pipelining = pipelining
        self.envelopes = []
        self.peers = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses[:-1] + ["250-PIPELINING"] * self.pipelining + responses[-1:]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address == BLOCKED_SENDER:
            return "553 5.7.1 <blocked@example.com>: Sender address rejected"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.peers.append(session.peer)
        if UNAVAILABLE in envelope.rcpt_tos:
            return "451 4.3.0 Mailbox temporarily unavailable"
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=[False, True], ids=["one-command-at-a-time", "pipelining"])
def smtp_server(request):
    handler = RecordingHandler(pipelining=request.param)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with override_settings(**smtp_settings(controller.port)):
            yield handler
    finally:
        controller.stop()


def received(envelope):
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


def text_of(part):
    """A text part's content with SMTP's CRLF line ends read back as newlines."""
    return part.get_content().replace("\r\n", "\n")


def email_rows():
    rows = Notification.objects.filter(channel="email").select_related("email")
    return sorted((row.email.to_email_address, row.status, row.last_error) for row in rows)


@override_settings(DEBUG=False)
def test_ticket_email_arrives_as_multipart_alternative_with_inline_styles(
    smtp_server, developer, manager, create_and_deliver
):
    ticket = create_and_deliver(description="<script>alert('x')</script>\nSecond line ü")
    [envelope] = smtp_server.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == ("helpdesk@example.com", ["Dev@example.com"])
    message = received(envelope)
    row = Notification.objects.get(channel="email")
    assert message["From"] == "helpdesk@example.com"
    assert message["To"] == "Dev@example.com"
    assert message["Subject"] == f"[High] New Help Desk Ticket #{ticket.pk}"
    assert message["Message-ID"] == f"<notification.{row.pk}@example.com>"
    assert message["Message-ID"].defects == ()
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert "Description:\n<script>alert('x')</script>\nSecond line ü\n" in text_of(text)
    html_content = text_of(html)
    parsed = ParsedEmailHTML(html_content)
    assert "<style" not in html_content
    assert parsed.unstyled_classes == []
    assert parsed.description == "<script>alert('x')</script>\nSecond line ü"
    assert parsed.links[0] == f"https://example.com/help_desk/page/{ticket.pk}/detail/"
    assert row.status == "sent"


@override_settings(DEBUG=True, DEVELOPMENT_EMAIL="dev-inbox@example.com")
def test_with_debug_the_email_goes_to_development_email(smtp_server, developer, create_and_deliver):
    create_and_deliver()
    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["dev-inbox@example.com"]
    assert received(envelope)["To"] == "dev-inbox@example.com"
    # The row still says whom the email was for.
    assert email_rows() == [("Dev@example.com", "sent", "")]


# One connection: a refusal must leave it usable for the emails after it.
@override_settings(
    ADMINS=["dev@example.com", REFUSED, UNAVAILABLE, "third@example.com"], **email_connections(1)
)
def test_refused_and_unavailable_recipients_are_recorded_and_the_rest_delivered(
    smtp_server, make_user, create_and_deliver
):
    for address in ["dev@example.com", REFUSED, UNAVAILABLE, "third@example.com"]:
        make_user(address.split("@")[0], email=address)
    create_and_deliver()
    assert email_rows() == [
        (UNAVAILABLE, "errored", "SMTPDataError: 451 4.3.0 Mailbox temporarily unavailable"),
        ("dev@example.com", "sent", ""),
        (
            REFUSED,
            "failed",
            "SMTPRecipientsRefused: 550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown",
        ),
        ("third@example.com", "sent", ""),
    ]
    assert sorted(envelope.rcpt_tos[0] for envelope in smtp_server.envelopes) == [
        "dev@example.com",
        "third@example.com",
    ]
    # One connection for the whole batch.
    assert len(set(smtp_server.peers)) == 1


def test_unreachable_server_leaves_every_email_errored_for_a_retry(make_user, create_and_deliver):
    make_user("dev")
    with override_settings(**smtp_settings(free_port())):
        create_and_deliver()
    [(address, status, error)] = email_rows()
    assert (address, status) == ("dev@example.com", "errored")
    assert error == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert Notification.objects.get(channel="app").status == "sent"


def test_the_longest_description_arrives_escaped(smtp_server, developer, create_and_deliver):
    description = ("<b>bold?</b> & ünïcödé 😀\n" * 50_000)[:DESCRIPTION_MAX_CHARS]
    create_and_deliver(description=description)
    [envelope] = smtp_server.envelopes
    text, html = received(envelope).iter_parts()
    assert ParsedEmailHTML(text_of(html)).description == description
    assert description in text_of(text)


# The SMTP fast path (spire_notify.pinned.django_smtp): the MIME of a message is flattened once per send,
# and each recipient only adds To and Message-ID.


def send_directly(recipients, message, **options):
    """``EmailBackend.send()`` of ``message`` to ``recipients``, as unsaved notifications 1, 2, …"""
    backend = EmailBackend(alias="email", domain="example.com", **options)
    renderings = backend.render_many(message, recipients)
    deliveries = [
        Delivery(notification=Notification(pk=pk), rendered=rendered)
        for pk, rendered in enumerate(renderings, start=1)
    ]
    return backend.send(deliveries)


def without_headers(raw):
    """The bytes of a message after its header block: the MIME body every recipient shares,
    except for its boundary, which the flattening chose."""
    _, _, body = raw.partition(b"\r\n\r\n")
    boundary = received_bytes(raw).get_boundary().encode()
    return body.replace(boundary, b"BOUNDARY")


def received_bytes(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def counting_mime_builds(monkeypatch):
    built = []
    build_mime = EmailMultiAlternatives.message

    def counted_build_mime(email_message, **kwargs):
        built.append(email_message.to)
        return build_mime(email_message, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "message", counted_build_mime)
    return built


@flattened_smtp
@override_settings(DEBUG=False)
def test_fast_path_sends_one_flattening_to_each_recipient_with_its_own_to_and_message_id(
    smtp_server, monkeypatch
):
    flattenings = counting_mime_builds(monkeypatch)
    recipients = [Recipient(user_id=i, email=f"user{i}@example.com") for i in range(5)]
    assert (
        send_directly(recipients, Message(event="new", title="Outage", path="/x/")) == [Outcome.success()] * 5
    )
    assert flattenings == [["user0@example.com"]]
    arrived = [(envelope.rcpt_tos, received(envelope)) for envelope in smtp_server.envelopes]
    # The batch's connections send side by side: the emails arrive in any order.
    assert sorted((rcpt, str(msg["To"]), str(msg["Message-ID"])) for rcpt, msg in arrived) == [
        ([f"user{i}@example.com"], f"user{i}@example.com", f"<notification.{i + 1}@example.com>")
        for i in range(5)
    ]
    assert {envelope.mail_from for envelope in smtp_server.envelopes} == {"helpdesk@example.com"}
    assert len({without_headers(envelope.original_content) for envelope in smtp_server.envelopes}) == 1
    for _, message in arrived:
        assert (message["Subject"], message["From"], message.get_content_type()) == (
            "Outage",
            "helpdesk@example.com",
            "multipart/alternative",
        )
        assert message["Date"].datetime is not None
        assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
        assert message.defects == []


@flattened_smtp
@override_settings(DEBUG=False, DEFAULT_FROM_EMAIL="Büro Zürich <helpdesk@example.com>")
def test_fast_path_encodes_non_ascii_subject_display_name_and_domain(smtp_server):
    recipient = Recipient(user_id=1, email="joerg@bücher.example")
    title = "Störung: Ünïcödé 😀" + " long subject words" * 6
    assert send_directly([recipient], Message(event="new", title=title)) == [Outcome.success()]
    [envelope] = smtp_server.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == (
        "helpdesk@example.com",
        ["joerg@xn--bcher-kva.example"],
    )
    assert envelope.original_content.isascii()
    message = received(envelope)
    assert message["Subject"] == title
    assert message["From"].addresses[0].display_name == "Büro Zürich"
    assert str(message["To"]) == "joerg@xn--bcher-kva.example"
    assert all(header.defects == () for header in message.values() if hasattr(header, "defects"))


@override_settings(DEBUG=True, DEVELOPMENT_EMAIL="dev-inbox@example.com")
def test_fast_path_keeps_the_debug_redirect(smtp_server):
    recipients = [Recipient(user_id=i, email=f"user{i}@example.com") for i in range(2)]
    send_directly(recipients, Message(event="new", title="Outage"))
    assert [(envelope.rcpt_tos, received(envelope)["To"]) for envelope in smtp_server.envelopes] == [
        (["dev-inbox@example.com"], "dev-inbox@example.com")
    ] * 2


@override_settings(DEBUG=False, DEFAULT_FROM_EMAIL="Büro Zürich <helpdesk@example.com>")
def test_fast_path_delivers_what_djangos_smtp_mailer_would(smtp_server):
    """Everything but the Date, the boundary and the order of headers is the same."""
    backend = EmailBackend(alias="email", domain="example.com")
    recipient = Recipient(user_id=1, email="someone@bücher.example")
    [rendered] = backend.render_many(Message(event="new", title="Störung ünïcödé", path="/x/"), [recipient])
    send_directly([recipient], Message(event="new", title="Störung ünïcödé", path="/x/"))
    send_through_mailer(get_mailer("default"), rendered.content, "<notification.1@example.com>")
    fast, django_path = (received(envelope) for envelope in smtp_server.envelopes)
    assert [envelope.rcpt_tos for envelope in smtp_server.envelopes] == [
        ["someone@xn--bcher-kva.example"]
    ] * 2

    def comparable(message):
        headers = sorted(
            (name, str(value)) for name, value in message.items() if name not in {"Date", "Content-Type"}
        )
        parts = [
            (
                part.get_content_type(),
                part.get_content_charset(),
                part["Content-Transfer-Encoding"],
                part.get_content(),
            )
            for part in message.iter_parts()
        ]
        return headers, message.get_content_type(), parts

    assert comparable(fast) == comparable(django_path)


# A personalised message (each email greets its recipient and links to their own unsubscribe
# page): its MIME is flattened once all the same, each recipient's bodies encoded into it.


@flattened_smtp
@override_settings(DEBUG=False)
def test_fast_path_flattens_a_personalised_message_once(smtp_server, monkeypatch):
    built = counting_mime_builds(monkeypatch)
    recipients = [Recipient(user_id=i, email=f"user{i}@example.com", name=f"Person {i}") for i in range(4)]
    assert send_directly(recipients, ticket_message()) == [Outcome.success()] * 4
    assert built == [["user0@example.com"]]
    # The batch's connections send side by side: the emails arrive in any order.
    for envelope in smtp_server.envelopes:
        [address] = envelope.rcpt_tos
        i = int(address.removeprefix("user").split("@")[0])
        message = received(envelope)
        text, html = message.iter_parts()
        assert text_of(text).startswith(f"Hello Person {i},\n")
        assert f"Hello Person {i}," in html.get_content()
        unsubscribe = str(message["List-Unsubscribe"]).strip("<>")
        assert unsubscribe in ParsedEmailHTML(html.get_content()).links
        assert message.defects == []
    assert len({str(received(envelope)["List-Unsubscribe"]) for envelope in smtp_server.envelopes}) == 4


@flattened_smtp
@override_settings(DEBUG=False)
def test_a_greeting_that_changes_a_parts_encoding_is_flattened_on_its_own(smtp_server, monkeypatch):
    built = counting_mime_builds(monkeypatch)
    recipients = [
        Recipient(user_id=1, email="ann@example.com", name="Ann"),
        # Not ASCII: the text part, 7bit for Ann, is 8bit for Jörg.
        Recipient(user_id=2, email="joerg@example.com", name="Jörg"),
    ]
    assert send_directly(recipients, ticket_message()) == [Outcome.success()] * 2
    assert sorted(built) == [["ann@example.com"], ["joerg@example.com"]]
    ann, joerg = (
        received(envelope)
        for envelope in sorted(smtp_server.envelopes, key=lambda envelope: envelope.rcpt_tos)
    )
    assert [part["Content-Transfer-Encoding"] for part in ann.iter_parts()] == ["7bit", "quoted-printable"]
    assert [part["Content-Transfer-Encoding"] for part in joerg.iter_parts()] == ["8bit", "quoted-printable"]
    assert text_of(next(joerg.iter_parts())).startswith("Hello Jörg,\n")


def header_as_sent(raw, name):
    """A header's value as the bytes carry it: unfolded, but no encoded-word decoded."""
    value = email.message_from_bytes(raw, policy=email.policy.compat32)[name]
    return re.sub(r"\r?\n[ \t]", " ", value).strip()


@override_settings(DEBUG=False)
@pytest.mark.parametrize("path", ["fast", "django"])
def test_the_unsubscribe_url_is_sent_as_it_is_on_one_line_never_as_encoded_words(smtp_server, path):
    """Gmail ignores a List-Unsubscribe made of RFC 2047 encoded-words, which is how the email
    package folds a line longer than 78 characters with no space to fold at (Django 6.x);
    Django 5.2's legacy policy folds it onto a second line instead. The docs promise one line."""
    backend = EmailBackend(alias="email", domain="example.com")
    [rendered] = backend.render_many(ticket_message(), [DEVELOPER])
    if path == "fast":
        send_directly([DEVELOPER], ticket_message())
    else:
        send_through_mailer(get_mailer("default"), rendered.content, "<notification.1@example.com>")
    [envelope] = smtp_server.envelopes
    url = rendered.content.extra_headers["List-Unsubscribe"]
    assert len(f"List-Unsubscribe: {url}") > 78
    assert header_as_sent(envelope.original_content, "List-Unsubscribe") == url
    assert header_as_sent(envelope.original_content, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert f"\r\nList-Unsubscribe: {url}\r\n".encode() in envelope.original_content


def comparable_bytes(raw):
    """A flattened MIME with its boundary named BOUNDARY and its Date left out (the two
    flattenings compared were made at different moments, each with a random boundary)."""
    boundary = email.message_from_bytes(raw, policy=email.policy.default).get_boundary().encode()
    lines = raw.replace(boundary, b"BOUNDARY").split(b"\r\n")
    return b"\r\n".join(line for line in lines if not line.startswith(b"Date: "))


@flattened_smtp
@hypothesis_settings(deadline=None)
@given(first=any_text, second=any_text)
@example(first="Ann", second="Bob")
@example(first="Ann", second="Jörg")
@example(first="Ann", second="A" * 120)
def test_bodies_encoded_into_the_shared_mime_are_the_bytes_of_the_emails_own(first, second):
    """The fast path sends exactly what flattening the recipient's own email would, or (when a
    body would change a part's headers) flattens that email."""
    recipients = [
        Recipient(user_id=1, email="one@example.com", name=first),
        Recipient(user_id=2, email="two@example.com", name=second),
    ]
    one, two = (
        rendered.content
        for rendered in EmailBackend(alias="email", domain="example.com").render_many(
            ticket_message(), recipients
        )
    )
    encoded = FlattenedMIME(one).with_bodies_of(two)
    if encoded is not None:
        assert comparable_bytes(encoded) == comparable_bytes(flatten_without_recipient(two))
    if first == second or (second.isascii() and len(second) < 40 and first.isascii() and len(first) < 40):
        assert encoded is not None


class DroppingHandler(RecordingHandler):
    """Closes the connection instead of answering the DATA of the first message."""

    async def handle_DATA(self, server, session, envelope):
        if not self.peers:
            self.peers.append(session.peer)
            server.transport.close()
            return None
        return await super().handle_DATA(server, session, envelope)


@override_settings(DEBUG=False)
def test_fast_path_reconnects_after_a_dropped_connection():
    controller = Controller(DroppingHandler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with override_settings(**smtp_settings(controller.port)):
            recipients = [Recipient(user_id=i, email=f"user{i}@example.com") for i in range(3)]
            # One connection: the point is the one that replaces it.
            outcomes = send_directly(recipients, Message(event="new", title="Outage"), connections=1)
    finally:
        controller.stop()
    assert outcomes == [
        Outcome.temporary("smtplib.SMTPServerDisconnected: Connection unexpectedly closed"),
        Outcome.success(),
        Outcome.success(),
    ]
    assert [envelope.rcpt_tos for envelope in controller.handler.envelopes] == [
        ["user1@example.com"],
        ["user2@example.com"],
    ]


# Pipelining (spire_notify.pinned.smtp_pipelining): MAIL, RCPT and DATA in one write where the
# server advertises PIPELINING; the smtp_server tests above run with and without it.


@flattened_smtp
@override_settings(DEBUG=False)
def test_a_server_that_answers_only_pipelined_commands_gets_every_email():
    recipients = [Recipient(user_id=i, email=f"user{i}@example.com") for i in range(3)]
    with FaultySMTPServer("pipelining_only") as server, override_settings(**server.mail_settings(timeout=5)):
        outcomes = send_directly(recipients, Message(event="new", title="Outage"))
    assert outcomes == [Outcome.success()] * 3
    assert sorted(server.received) == [
        "<notification.1@example.com>",
        "<notification.2@example.com>",
        "<notification.3@example.com>",
    ]


@override_settings(DEBUG=False)
def test_a_client_that_waits_for_each_reply_gets_nothing_through_to_that_server():
    """The server above tells the two ways apart: Django's own SMTP path, which waits for each
    reply, times out there."""
    email_message = EmailMultiAlternatives("Outage", "Body", "helpdesk@example.com", ["user@example.com"])
    with FaultySMTPServer("pipelining_only") as server, override_settings(**server.mail_settings(timeout=1)):
        with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
            get_mailer("default").send_messages([email_message])
    assert server.received == []


@flattened_smtp
@override_settings(DEBUG=False)
def test_a_refused_sender_fails_each_email_alone(smtp_server):
    recipients = [Recipient(user_id=i, email=f"user{i}@example.com") for i in range(2)]
    outcomes = send_directly(recipients, Message(event="new", title="Outage"), from_email=BLOCKED_SENDER)
    assert (
        outcomes
        == [
            Outcome.permanent_failure(
                "SMTPSenderRefused: 553 5.7.1 <blocked@example.com>: Sender address rejected"
            )
        ]
        * 2
    )
    assert smtp_server.envelopes == []


@pytest.fixture(scope="module")
def pipelining_server():
    handler = RecordingHandler(pipelining=True)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", controller.port, timeout=10) as smtp:
            assert can_pipeline(smtp)
            yield handler, smtp
    finally:
        controller.stop()


@hypothesis_settings(deadline=None, max_examples=50)
@given(lines=st.lists(st.text(alphabet=".ab \r\n", max_size=12), max_size=6))
@example(lines=[".", "..", ".a"])
@example(lines=["no line end"])
def test_a_pipelined_message_arrives_byte_for_byte(pipelining_server, lines):
    """Lines that begin with a dot are doubled on the wire and arrive as they were."""
    handler, smtp = pipelining_server
    data = "\r\n".join(line.replace("\r", "").replace("\n", "") for line in lines).encode() + b"\r\n"
    handler.envelopes.clear()
    send_pipelined(smtp, "helpdesk@example.com", "user@example.com", data)
    [envelope] = handler.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == ("helpdesk@example.com", ["user@example.com"])
    assert envelope.original_content == data
