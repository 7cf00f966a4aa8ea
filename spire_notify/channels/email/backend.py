"""Email: a templated, CSS-inlined HTML message with a plain-text alternative."""

import contextlib
import smtplib
import socket
from dataclasses import dataclass, replace
from functools import partial
from types import SimpleNamespace
from typing import Any

import django.core.mail.backends.console
import django.core.mail.backends.dummy
import django.core.mail.backends.locmem
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.urls import NoReverseMatch
from django.utils import translation

from spire_notify.backends.base import BaseNotificationBackend, Outcome, Rendered, describe_error
from spire_notify.backends.links import SiteLinks
from spire_notify.channels.email.addresses import message_id_domain, validate_recipient_address
from spire_notify.channels.email.checks import (
    email_backend_messages,
    refuse_to_send_without_development_email,
)
from spire_notify.channels.email.digest import render_digest_email
from spire_notify.channels.email.headers import EmailLinks, OneLineHeadersEmail
from spire_notify.channels.email.personalise import Personal, PersonalisedEmail
from spire_notify.channels.email.templated import Inliner, TemplatedEmail, template_problem
from spire_notify.channels.email.throttling import is_throttling
from spire_notify.compat import LEGACY_EMAIL_POLICY, get_mailer
from spire_notify.exceptions import Undeliverable
from spire_notify.pinned.django_smtp import (
    FlattenedSMTPSender,
    Flattenings,
    send_through_mailer,
    sends_through_smtp,
)

DEFAULT_TEMPLATE = "spire_notify/email/notification.html"
# Connections a batch may use side by side: a relay 25 ms away takes about 20 emails a second
# over one; every large relay accepts several from one client (Microsoft 365 takes 3 per mailbox:
# docs/channels/email.md#connections says how to size it).
DEFAULT_CONNECTIONS = 4
# Mailers that write where they run (Django's in-memory outbox, the console, files, nothing):
# nothing to wait for, so a batch keeps one connection and its messages keep their order.
LOCAL_MAILERS = (
    django.core.mail.backends.locmem.EmailBackend,
    django.core.mail.backends.console.EmailBackend,
    django.core.mail.backends.dummy.EmailBackend,
)
# Seconds for each network operation of a mailer that sets no timeout of its own: without one,
# a server that accepts the connection and never answers holds the worker for good.
DEFAULT_TIMEOUT = 30

# The class of the emails built. Django 6.x writes List-Unsubscribe on one line as it is; and
# its flattened SMTP path takes a plain EmailMultiAlternatives only.
EMAIL_CLASS = OneLineHeadersEmail if LEGACY_EMAIL_POLICY else EmailMultiAlternatives

# Errors that mean the connection itself is gone: the next message needs a new one.
CONNECTION_ERRORS = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError)
# "Service not available, closing transmission channel": a temporary error that also ends
# the session, so the next message must not be sent over it.
SERVICE_CLOSING = 421
# Failures no retry can mend: the server or the mailer cannot take the message or the address
# as it is (Django's mailer raises ValueError for a non-ASCII local part to a server without
# SMTPUTF8, and for a header it cannot encode).
UNSENDABLE_ERRORS = (smtplib.SMTPNotSupportedError, ValueError)


@dataclass(frozen=True)
class MailSession:
    """One open mailer of a batch, and whether it sends down the flattened SMTP path."""

    mailer: Any
    flattens: bool


@dataclass(frozen=True)
class MailBatch:
    """What every connection of a batch shares, made in the worker's thread before they open."""

    message_id_domain: str
    # One flattened MIME per message, whichever connection sends it.
    flattenings: Flattenings


class EmailBackend(SiteLinks, BaseNotificationBackend):
    """Options:

    - ``mailer``: the Django ``MAILERS`` alias to send through (default ``"default"``).
    - ``engine``: the ``TEMPLATES`` NAME to render with, e.g. ``"jinja2"``; by default the first
      engine that has the template.
    - ``template``: for messages that name none (default ``spire_notify/email/notification.html``).
    - ``inliner``: ``"premailer"`` (default), ``"css_inline"`` (the css-inline extra), or ``None``.
    - ``domain`` and ``protocol``: of absolute URLs; default the current Site's domain, https.
    - ``from_email``: default ``DEFAULT_FROM_EMAIL``, read when sending.
    - ``timeout``: seconds per network operation when the mailer sets none (default 30).
    - ``connections``: how many connections to the mailer's server a batch uses side by side
      (default 4); a local mailer (locmem, console, file, dummy) always uses one.
    """

    detail_model = "spire_notify_email.EmailNotification"
    address_field = "to_email_address"
    supports_digest = True

    def __init__(
        self,
        *,
        alias,
        mailer="default",
        engine=None,
        template=DEFAULT_TEMPLATE,
        inliner="premailer",
        domain=None,
        protocol="https",
        from_email=None,
        timeout=DEFAULT_TIMEOUT,
        connections=DEFAULT_CONNECTIONS,
        **options,
    ):
        super().__init__(alias=alias, connections=connections, **options)
        self.mailer = mailer
        self.engine = engine
        self.template = template
        self.inline = Inliner(inliner)
        self.inliner = inliner
        self.domain = domain
        self.protocol = protocol
        self.from_email = from_email
        self.timeout = timeout

    # -- the pure half --------------------------------------------------------------------

    def render(self, message, recipient):
        return self.render_many(message, [recipient])[0]

    def render_many(self, message, recipients):
        # The template is rendered and inlined once per message (and shape of recipient), in
        # the message's language; each recipient's name and links are then written in. The row
        # keeps the short text, not the HTML: one message's HTML is the same for every
        # recipient, and a large one stored per row multiplied the table by its audience.
        url = self.absolute_url(message.path)
        links = self.email_links(message)
        with translation.override(message.language or settings.LANGUAGE_CODE):
            emails = PersonalisedEmail(partial(self.render_blocks, message, url), self.inline)
            rendered = []
            for recipient in recipients:
                footer = links.footer(recipient) if links else {}
                personal = Personal(name=recipient.name, email=recipient.email, **footer)
                try:
                    content = emails.for_recipient(personal)
                except TemplateDoesNotExist as error:
                    raise Undeliverable(f"the email template {error} does not exist") from error
                headers = links.headers(footer) if links else {}
                email = self.build_email(content, recipient, headers)
                rendered.append(Rendered(body=message.summary, url=url, content=email))
        return rendered

    def render_content(self, message, url, personal=None):
        """The subject, text and inlined HTML of ``message`` for one recipient (``personal``)."""
        content = self.render_blocks(message, url, personal or Personal())
        return replace(content, html=self.inline(content.html))

    def render_blocks(self, message, url, personal):
        context = {
            **message.context,
            "message": message,
            "target": message.target,
            "url": url,
            "domain": self.get_domain(),
            "site_name": self.get_site_name(),
            "protocol": self.protocol,
            "recipient": SimpleNamespace(name=personal.name, email=personal.email),
            "unsubscribe_url": personal.unsubscribe_url,
            "preferences_url": personal.preferences_url,
        }
        email = TemplatedEmail(
            template_name=message.template or self.template, context=context, engine=self.engine
        )
        email.render()
        return email.content()

    def check_template(self, template_name):
        return template_problem(template_name, self.engine)

    def personal(self, message, recipient):
        """What the template may show of ``recipient``, with their unsubscribe link."""
        links = self.email_links(message)
        return Personal(
            name=recipient.name, email=recipient.email, **(links.footer(recipient) if links else {})
        )

    def email_links(self, message):
        """The unsubscribe and settings links of ``message``'s emails; ``None`` when
        spire_notify.urls is not mounted, so there is no page to link to (spire_notify.W020)."""
        try:
            return EmailLinks(message.event, self.alias, domain=self.get_domain(), protocol=self.protocol)
        except NoReverseMatch:
            return None

    def build_email(self, content, recipient, headers=None):
        to, debug_headers = self.delivery_address(recipient)
        email = EMAIL_CLASS(
            subject=content.subject,
            body=content.text,
            from_email=self.from_email or settings.DEFAULT_FROM_EMAIL,
            to=[to],
            headers={**(headers or {}), **debug_headers},
        )
        if content.html:
            email.attach_alternative(content.html, "text/html")
        return email

    def delivery_address(self, recipient):
        """``(address, extra headers)``: the recipient's, or in DEBUG the development inbox's,
        with ``X-Original-To`` saying who it was meant for."""
        validate_recipient_address(recipient.email)
        if not settings.DEBUG:
            return recipient.email, {}
        development_email = getattr(settings, "DEVELOPMENT_EMAIL", "")
        if not development_email:
            # validate() stops workers before this; the guard keeps a real inbox safe regardless.
            raise ValueError("DEBUG is on and DEVELOPMENT_EMAIL is not set: not sending email.")
        return development_email, {"X-Original-To": recipient.email}

    def message_id(self, delivery, *, domain=None):
        """One Message-ID per notification (or digest: ``<digest.N@…>``), however often it is
        retried: receivers can drop the duplicate of a delivery whose success was not recorded."""
        domain = domain or message_id_domain(self.get_domain())
        return f"<{delivery.kind}.{delivery.notification.pk}@{domain}>"

    # -- the I/O half: the hooks of the base class's send loop ----------------------------

    def open(self):
        connection = get_mailer(self.mailer)
        if getattr(connection, "timeout", False) is None:
            connection.timeout = self.timeout
        connection.open()
        return MailSession(connection, flattens=sends_through_smtp(connection))

    def prepare_batch(self, deliveries, guard):
        # The Message-ID's domain is read here, in the worker's thread: the hand-overs may run
        # on connections of their own, in threads that must not query the Site.
        return MailBatch(message_id_domain=message_id_domain(self.get_domain()), flattenings=Flattenings())

    def send_one(self, session, delivery, *, batch):
        email = delivery.rendered.content
        message_id = self.message_id(delivery, domain=batch.message_id_domain)
        if session.flattens:
            FlattenedSMTPSender(session.mailer, batch.flattenings).send(email, message_id)
        else:
            send_through_mailer(session.mailer, email, message_id)
        return Outcome.success()

    def connections_for(self, session):
        return 1 if isinstance(session.mailer, LOCAL_MAILERS) else self.max_connections

    def close(self, session):
        session.mailer.close()

    def abort(self, session):
        # smtplib's close() drops the socket; the mailer's would first wait for QUIT's reply.
        # shutdown() first: a lane's thread blocked reading this socket's reply wakes only on a
        # shutdown, never on a close() from another thread.
        smtp = getattr(session.mailer, "connection", None)
        if smtp is not None:
            sock = getattr(smtp, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            smtp.close()
            session.mailer.connection = None

    def connection_lost(self, error):
        return isinstance(error, CONNECTION_ERRORS) or getattr(error, "smtp_code", None) == SERVICE_CLOSING

    def classify_error(self, error):
        return classify_send_error(error)

    # -- configuration --------------------------------------------------------------------

    def render_digest(self, items, recipient):
        return render_digest_email(self, items, recipient)

    def check(self, **kwargs):
        return email_backend_messages(self)

    def validate(self):
        # DEBUG without DEVELOPMENT_EMAIL is only a warning among the system checks (it must not
        # stop migrate); here, before the worker claims a row, it stops delivery.
        refuse_to_send_without_development_email()
        super().validate()


def classify_send_error(error):
    """SMTP 5xx replies and unsendable messages are permanent; everything else (4xx, network,
    surprises) is retried."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = [(code, _decode(reply)) for code, reply in error.recipients.values()]
    elif isinstance(error, smtplib.SMTPResponseException):
        replies = [(error.smtp_code, _decode(error.smtp_error))]
    elif isinstance(error, UNSENDABLE_ERRORS):
        return Outcome.permanent_failure(describe_error(error))
    else:
        return Outcome.temporary(describe_error(error))
    error_text = f"{type(error).__name__}: " + "; ".join(f"{code} {text}" for code, text in replies)
    if all(code >= 500 for code, _ in replies):
        return Outcome.permanent_failure(error_text)
    # Throttled when the relay said so of any recipient: sending again at once gets the same.
    if any(is_throttling(code, text) for code, text in replies):
        return Outcome.throttled(error_text)
    return Outcome.temporary(error_text)


def _decode(reply):
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
