"""Email: a templated, CSS-inlined HTML message with a plain-text alternative."""

import smtplib
from dataclasses import replace
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error
from django.core.mail import EmailMultiAlternatives

from spire_notify.compat import get_mailer, mailer_problem

from .base import BaseNotificationBackend, Outcome, Rendered, describe_error
from .smtp_fast import FlattenedSMTPSender, send_through_mailer, sends_through_smtp
from .templated import Inliner, TemplatedEmail, inliner_errors, template_errors

DEFAULT_TEMPLATE = "spire_notify/email/notification.html"

# Errors that mean the connection itself is gone: the next message needs a new one.
CONNECTION_ERRORS = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError)


class EmailBackend(BaseNotificationBackend):
    """Options:

    - ``mailer``: the Django ``MAILERS`` alias to send through (default ``"default"``).
    - ``engine``: the ``TEMPLATES`` NAME to render with, e.g. ``"jinja2"``; by default the first
      engine that has the template.
    - ``template``: for messages that name none (default ``spire_notify/email/notification.html``).
    - ``inliner``: ``"premailer"`` (default), ``"css_inline"`` (the css-inline extra), or ``None``.
    - ``domain`` and ``protocol``: of absolute URLs; default the current Site's domain, https.
    - ``from_email``: default ``DEFAULT_FROM_EMAIL``, read when sending.
    """

    delivers_externally = True
    detail_model = "spire_notify.EmailNotification"

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
        **options,
    ):
        super().__init__(alias=alias, **options)
        self.mailer = mailer
        self.engine = engine
        self.template = template
        self.inline = Inliner(inliner)
        self.inliner = inliner
        self.domain = domain
        self.protocol = protocol
        self.from_email = from_email

    def accepts(self, recipient):
        return bool(recipient.email)

    def build_detail(self, notification, recipient):
        from spire_notify.models import EmailNotification

        return EmailNotification(notification=notification, to_email_address=recipient.email)

    def absolute_url(self, path):
        return f"{self.protocol}://{self.get_domain()}{path}" if path else ""

    def get_domain(self):
        if self.domain:
            return self.domain
        from django.contrib.sites.models import Site

        # The sites framework caches the current Site: one query per process, not per email.
        return Site.objects.get_current().domain

    def render(self, message, recipient):
        return self.render_many(message, [recipient])[0]

    def render_many(self, message, recipients):
        # The template is rendered and inlined once per message; recipients only change "To".
        url = self.absolute_url(message.path)
        content = self.render_content(message, url)
        return [
            Rendered(body=content.html, url=url, content=self.build_email(content, recipient))
            for recipient in recipients
        ]

    def render_content(self, message, url):
        context = {
            **message.context,
            "message": message,
            "target": message.target,
            "url": url,
            "domain": self.get_domain(),
            "protocol": self.protocol,
        }
        email = TemplatedEmail(
            template_name=message.template or self.template, context=context, engine=self.engine
        )
        email.render()
        content = email.content()
        return replace(content, html=self.inline(content.html))

    def build_email(self, content, recipient):
        email = EmailMultiAlternatives(
            subject=content.subject,
            body=content.text,
            from_email=self.from_email or settings.DEFAULT_FROM_EMAIL,
            to=[self.delivery_address(recipient)],
        )
        if content.html:
            email.attach_alternative(content.html, "text/html")
        return email

    def delivery_address(self, recipient):
        if not settings.DEBUG:
            return recipient.email
        development_email = getattr(settings, "DEVELOPMENT_EMAIL", "")
        if not development_email:
            # validate() stops workers before this; the guard keeps a real inbox safe regardless.
            raise ValueError("DEBUG is on and DEVELOPMENT_EMAIL is not set: not sending email.")
        return development_email

    def send(self, deliveries):
        connection = get_mailer(self.mailer)
        try:
            connection.open()
        except OSError as error:
            # The server cannot be reached: the whole batch is retried later.
            return [Outcome.temporary(describe_error(error))] * len(deliveries)
        if sends_through_smtp(connection):
            transmit = FlattenedSMTPSender(connection).send
        else:
            transmit = partial(send_through_mailer, connection)
        try:
            return [self._send_one(connection, transmit, delivery) for delivery in deliveries]
        finally:
            connection.close()

    def message_id(self, notification):
        """One Message-ID per notification, however often it is retried: receivers can
        drop the duplicate of a delivery whose success was not recorded."""
        return f"<notification.{notification.pk}@{message_id_domain(self.get_domain())}>"

    def _send_one(self, connection, transmit, delivery):
        try:
            transmit(delivery.rendered.content, self.message_id(delivery.notification))
        except Exception as error:
            if isinstance(error, CONNECTION_ERRORS):
                _reconnect(connection)
            return classify_send_error(error)
        return Outcome.success()

    def check(self, **kwargs):
        errors = []
        if settings.DEBUG and not getattr(settings, "DEVELOPMENT_EMAIL", ""):
            errors.append(
                Error(
                    "DEBUG is on and DEVELOPMENT_EMAIL is not set, so email would reach real "
                    "recipients; spire-notify sends none until it is set.",
                    hint="Set DEVELOPMENT_EMAIL to the inbox that receives all email in development.",
                    id="spire_notify.E010",
                )
            )
        if not (self.from_email or settings.DEFAULT_FROM_EMAIL):
            errors.append(
                Error(
                    "DEFAULT_FROM_EMAIL is empty; notification email needs a From address.",
                    hint="Set DEFAULT_FROM_EMAIL, or the email backend's 'from_email' option.",
                    id="spire_notify.E011",
                )
            )
        problem = mailer_problem(self.mailer)
        if problem:
            errors.append(
                Error(
                    f"NOTIFY_BACKENDS[{self.alias!r}]: {problem}",
                    hint="Name a MAILERS alias in the 'mailer' option, and check that alias's entry.",
                    id="spire_notify.E013",
                )
            )
        errors.extend(template_errors(self.alias, self.template, self.engine))
        if not self.domain:
            from spire_notify.checks import site_errors

            errors.extend(site_errors(self.alias))
        errors.extend(inliner_errors(self.alias, self.inliner))
        return errors


def message_id_domain(domain):
    """The host of a Site domain in the form a Message-ID allows: no port, ASCII, IPv6 bracketed."""
    host = urlsplit(f"//{domain}").hostname or "localhost"
    if ":" in host:
        return f"[{host}]"
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        # The id only has to be unique; the pk already makes it so on this site.
        return "localhost"


def classify_send_error(error):
    """SMTP 5xx replies are permanent; everything else (4xx, network, surprises) is retried."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.values())
        text = "; ".join(f"{code} {_decode(reply)}" for code, reply in replies)
        permanent = all(code >= 500 for code, _ in replies)
    elif isinstance(error, smtplib.SMTPResponseException):
        text = f"{error.smtp_code} {_decode(error.smtp_error)}"
        permanent = error.smtp_code >= 500
    else:
        return Outcome.temporary(describe_error(error))
    error_text = f"{type(error).__name__}: {text}"
    return Outcome.permanent_failure(error_text) if permanent else Outcome.temporary(error_text)


def _decode(reply):
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _reconnect(connection):
    connection.close()
    try:
        connection.open()
    except OSError:
        # Still down: the next send fails on its own and is recorded as a temporary error.
        pass
