"""The private APIs of Django, Jinja2 and premailer that spire_notify.pinned relies on, pinned.

Each module of spire_notify.pinned names in its docstring what it uses; these tests fail on the
Django (or library) version that changes any of it, before a user meets the change. CI runs
them on every supported Django.
"""

import email.policy
import inspect
import smtplib
from email import contentmanager
from email.message import EmailMessage
from email.utils import parseaddr

import django
import pytest
from django.core.mail.backends.smtp import EmailBackend as SMTPMailer
from django.db import connection
from django.db.models import Field
from django.db.models.base import ModelState
from django.template import engines
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from premailer import Premailer

from spire_notify.compat import FLATTENED_SMTP, get_mailer
from spire_notify.models import Notification
from spire_notify.pinned.django_bulk_insert import insert_rows
from spire_notify.pinned.django_smtp import envelope_address, sends_through_smtp
from spire_notify.pinned.email_text_encoding import TextPartEncoder
from spire_notify.pinned.jinja2_blocks import render_jinja2_blocks
from spire_notify.pinned.premailer_css import OfflinePremailer
from spire_notify.pinned.smtp_pipelining import can_pipeline, send_pipelined
from tests.support.delivery_harness import SmtpSink
from tests.support.faulty_smtp import FaultySMTPServer


def test_bulk_insert_internals_are_there():
    assert callable(ModelState)
    assert callable(Field.get_db_prep_save) and callable(Field.has_db_default)
    assert list(inspect.signature(connection.ops.bulk_batch_size).parameters) == ["fields", "objs"]
    assert isinstance(connection.features.can_return_rows_from_bulk_insert, bool)


@pytest.mark.django_db
def test_insert_rows_writes_what_bulk_create_would(make_user):
    user = make_user("ada")
    rows = [Notification(user=user, channel="app", title=f"t{i}", payload={"i": i}) for i in range(3)]
    insert_rows(Notification, rows, "default")
    stored = Notification.objects.order_by("pk")
    assert [(row.pk, row.title, row.payload) for row in stored] == [(r.pk, r.title, r.payload) for r in rows]
    assert all(row._state.adding is False and row._state.db == "default" for row in rows)


def test_set_content_encodes_text_with_encode_text():
    """FlattenedMIME encodes a recipient's bodies with email.contentmanager._encode_text, as
    set_content() does: the same signature, and the payload set_content() stores."""
    assert list(inspect.signature(contentmanager._encode_text).parameters) == [
        "string",
        "charset",
        "cte",
        "policy",
    ]
    for text in ("Hello Ann,\n", "Hello Jörg,\n", "<p>" + "x" * 200 + "</p>\n"):
        part = EmailMessage(policy=email.policy.SMTP)
        part.set_content(text, charset="utf-8")
        assert contentmanager._encode_text(text, "utf-8", None, email.policy.SMTP) == (
            part["Content-Transfer-Encoding"],
            part._payload,
        )


def test_the_smtp_mailer_keeps_its_smtp_connection_and_its_send():
    assert callable(SMTPMailer._send)
    with SmtpSink() as sink, override_settings(**sink.mail_settings()):
        mailer = get_mailer("default")
        # Django 5.2's message() has no policy to flatten with: it sends the way Django does.
        assert sends_through_smtp(mailer) is FLATTENED_SMTP
        mailer.open()
        try:
            assert hasattr(mailer.connection, "sendmail")
            # Django 5.2 keeps the display name, which smtplib drops (quoteaddr) from RCPT TO.
            assert (
                parseaddr(envelope_address(mailer, "Ann <ann@bücher.example>"))[1]
                == "ann@xn--bcher-kva.example"
            )
        finally:
            mailer.close()


@pytest.mark.skipif(django.VERSION < (6, 0), reason="prep_address() arrived in Django 6.0")
def test_prep_address_refuses_a_non_ascii_local_part_without_smtputf8():
    with SmtpSink() as sink, override_settings(**sink.mail_settings()):
        mailer = get_mailer("default")
        with pytest.raises(ValueError, match="non-ASCII"):
            mailer.prep_address("jörg@example.com", force_ascii=True)


def test_jinja2_template_internals_are_there():
    template = engines["jinja2"].from_string(
        "{% block a %}A{{ x }}{% endblock %}{% block b %}B{% endblock %}"
    )
    assert callable(template.template.root_render_func) and callable(template.template.new_context)
    assert render_jinja2_blocks(template, {"x": 1}, ["a", "b", "c"]) == {"a": "A1", "b": "B", "c": ""}


def test_premailer_parses_css_in_the_one_method_offline_premailer_replaces():
    assert "_parse_css_string" in vars(Premailer)
    html = '<html><head><style>@import url("http://127.0.0.1:9/x.css"); p {color: red}</style></head><body><p>x</p></body></html>'
    inlined = OfflinePremailer(html, allow_network=False, disable_validation=True).transform()
    assert '<p style="color:red">x</p>' in inlined


def test_pipelining_writes_the_commands_sendmail_writes():
    """spire_notify.pinned.smtp_pipelining builds its commands from smtplib's pieces
    (quoteaddr, send, getreply, has_extn, rset): on the wire, the same lines as sendmail(), but
    for the case of the keywords, which SMTP ignores and Python 3.13 changed."""
    data = b"Subject: x\r\n\r\n.starts with a dot\r\n"
    with FaultySMTPServer("ok") as server, smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
        smtp.sendmail("Ann <ann@example.com>", ["bob@example.com"], data)
        by_sendmail = server.commands[1:]
        del server.commands[:]
        send_pipelined(smtp, "Ann <ann@example.com>", "bob@example.com", data)
        assert keywords_folded(server.commands) == keywords_folded(by_sendmail)
        assert can_pipeline(smtp) is False  # the "ok" server does not advertise it
        smtp.rset()
    assert keywords_folded(by_sendmail) == [
        b"mail from:<ann@example.com>\r\n",
        b"rcpt to:<bob@example.com>\r\n",
        b"data\r\n",
    ]
    assert server.received == [None, None]


def keywords_folded(lines):
    return [b":".join([keyword.lower(), *rest]) for keyword, *rest in (line.split(b":", 1) for line in lines)]


# Texts like the parts of one message's emails: lines of every length (quoted-printable starts
# past 78 bytes), characters that are escaped, line ends of every kind, trailing blanks.
any_line = st.text(alphabet=st.sampled_from("ab =.\t\r\n\x0b\x85üé😀<>\"'"), max_size=120)
line_text = st.one_of(any_line, st.builds("{}{}{}".format, any_line, st.just("<td>" + "x" * 74), any_line))


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    shared=st.lists(line_text, max_size=14),
    variants=st.lists(st.tuples(st.integers(0, 14), line_text), max_size=4),
)
def test_the_line_by_line_encoder_encodes_as_set_content_does(shared, variants):
    """TextPartEncoder (spire_notify.pinned.email_text_encoding) gives what
    email.contentmanager._encode_text gives, for a text and for variants of it sharing its lines."""
    encoder = TextPartEncoder("utf-8", email.policy.SMTP)
    texts = ["\n".join(shared)]
    for position, line in variants:
        lines = list(shared)
        lines[position:position] = [line]
        texts.append("\n".join(lines))
    for text in texts:
        expected = contentmanager._encode_text(text, "utf-8", None, email.policy.SMTP)
        assert encoder.encode(text) == expected
        # FlattenedMIME turns the payload's line ends into CRLF by replacing "\n" alone.
        assert "\r" not in expected[1]


def test_the_line_by_line_encoder_knows_each_case_of_the_choice():
    encoder = TextPartEncoder("utf-8", email.policy.SMTP)
    long_line = "<p>" + "x" * 100 + "</p>"
    cases = {
        "Hello Ann,\n": "7bit",
        "Hello Jörg,\n": "8bit",
        long_line + "\n": "quoted-printable",
        "\n".join([long_line] * 12 + ["Hallo Jörg"]): "quoted-printable",
        "😀" * 40: "base64",
        # The choice is made on the first 10 lines: here the 10th tips it to base64.
        "\n".join(["x" * 80] + [""] * 8 + ["😀" * 40]): "base64",
        "\n".join(["x" * 80] + [""] * 9 + ["😀" * 40]): "quoted-printable",
        "\n".join(["😀" * 20] + [""] * 9 + ["x" * 1000]): "base64",
    }
    for text, transfer_encoding in cases.items():
        assert encoder.encode(text) == contentmanager._encode_text(text, "utf-8", None, email.policy.SMTP)
        assert encoder.encode(text)[0] == transfer_encoding
