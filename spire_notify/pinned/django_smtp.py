"""The email backend's path into Django's SMTP mailer: each message's MIME flattened once.

Django's SMTP mailer builds and flattens the whole MIME tree of every email it sends, which
costs more than the SMTP conversation itself. Emails that differ only in ``To``, Message-ID and
per-recipient headers (List-Unsubscribe) share the rest, so it is flattened once per send and
each recipient's headers are put in front of the shared bytes.

Private APIs of Django's ``django.core.mail.backends.smtp.EmailBackend`` used here, pinned per
supported Django by tests/test_pinned.py:

- ``EmailBackend.connection``: the open ``smtplib.SMTP`` the mailer keeps;
- ``EmailBackend.prep_address()`` (Django 6.0+; ``django.core.mail.message.sanitize_address()``
  on 5.2): how the mailer turns an address into its envelope form (IDNA domains, SMTPUTF8, the
  refusal of a non-ASCII local part without it);
- ``EmailBackend._send``: compared, not called, to tell Django's own sending from a subclass's;
- ``EmailMessage.message(policy=…)`` (Django 6.0+). Django 5.2 has no such argument, so there
  the path is off (``spire_notify.compat.FLATTENED_SMTP``) and every email goes through the
  mailer's own ``send_messages()``; ``envelope_address()`` keeps 5.2's ``sanitize_address()``
  for the envelope all the same.
"""

import email.policy
import re
from email.headerregistry import Address

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend as SMTPMailer
from django.utils.encoding import punycode

from spire_notify.compat import FLATTENED_SMTP

# The policy Django's SMTP mailer flattens with: CRLF line ends, long header lines folded.
SMTP_POLICY = email.policy.SMTP

# An ASCII dot-atom address short enough to need no folding: Django's address parser returns it
# unchanged, as envelope address and as header. Parsing costs more than sending the message,
# so such addresses skip it (tests.test_backend_email holds the two ways equal).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
PLAIN_ADDRESS = re.compile(rf"{_ATOM}(\.{_ATOM})*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")
PLAIN_ADDRESS_MAX_LENGTH = 72


def sends_through_smtp(connection):
    """Whether ``connection`` is Django's SMTP mailer, sending the way Django's own does.

    A subclass that changes how messages are sent (signing them, say) keeps its own path, and
    so does ``fail_silently``, which the mailer implements by swallowing errors in
    ``send_messages()``.
    """
    mailer_class = type(connection)
    return (
        FLATTENED_SMTP
        and isinstance(connection, SMTPMailer)
        and mailer_class.send_messages is SMTPMailer.send_messages
        and mailer_class._send is SMTPMailer._send
        and not connection.fail_silently
    )


class FlattenedSMTPSender:
    """Sends emails over one SMTP mailer, flattening the MIME of each distinct message once."""

    def __init__(self, connection):
        self.connection = connection
        self.flattened = {}  # shared_parts(email) -> (envelope sender, MIME without To and Message-ID)

    def send(self, email_message, message_id):
        key = shared_parts(email_message)
        if key is None:
            # Not the shape the email backend renders: Django's own path.
            send_through_mailer(self.connection, email_message, message_id)
            return
        if key not in self.flattened:
            self.flattened[key] = (
                envelope_address(self.connection, email_message.from_email, email_message.encoding),
                flatten_without_recipient(email_message),
            )
        sender, shared = self.flattened[key]
        [to] = email_message.to
        envelope_recipient, headers = recipient_envelope_and_header(self.connection, to)
        headers += SMTP_POLICY.fold_binary("Message-ID", message_id)
        for name, value in email_message.extra_headers.items():
            headers += SMTP_POLICY.fold_binary(name, value)
        # After a failed reconnect there is no connection; send_messages() would try again too.
        self.connection.open()
        self.connection.connection.sendmail(sender, [envelope_recipient], headers + shared)


def send_through_mailer(connection, email_message, message_id):
    email_message.extra_headers["Message-ID"] = message_id
    connection.send_messages([email_message])


# Headers that differ from one recipient to the next, put in front like To; any other extra
# header sends the message down Django's own path.
PER_RECIPIENT_HEADERS = {"List-Unsubscribe", "List-Unsubscribe-Post", "X-Original-To"}


def shared_parts(email_message):
    """What the MIME of ``email_message`` is made of besides its one ``To``, its Message-ID and
    its per-recipient headers, or ``None`` when it has more (Cc, Bcc, attachments, other
    headers) than the fast path sends."""
    if (
        type(email_message) is not EmailMultiAlternatives
        or email_message.recipients() != email_message.to
        or len(email_message.to) != 1
        or email_message.cc
        or email_message.bcc
        or email_message.reply_to
        or email_message.attachments
        or not set(email_message.extra_headers) <= PER_RECIPIENT_HEADERS
    ):
        return None
    return (
        email_message.subject,
        email_message.body,
        email_message.from_email,
        email_message.encoding,
        email_message.content_subtype,
        tuple(email_message.alternatives),
    )


def flatten_without_recipient(email_message):
    mime = email_message.message(policy=SMTP_POLICY)
    for name in ("To", "Message-ID", *email_message.extra_headers):
        del mime[name]
    return mime.as_bytes()


def recipient_envelope_and_header(connection, address):
    """The envelope recipient and the folded ``To`` header Django's SMTP mailer would send."""
    if len(address) <= PLAIN_ADDRESS_MAX_LENGTH and PLAIN_ADDRESS.fullmatch(address):
        return address, f"To: {address}\r\n".encode("ascii")
    return envelope_address(connection, address), SMTP_POLICY.fold_binary("To", address_header("To", address))


def envelope_address(connection, address, encoding=None):
    """The envelope form of ``address`` as the mailer would send it: ``prep_address()`` on
    Django 6.0 and later, ``sanitize_address()`` (which it replaced) on 5.2."""
    prep_address = getattr(connection, "prep_address", None)
    if prep_address is not None:
        return prep_address(address)
    from django.core.mail.message import sanitize_address

    return sanitize_address(address, encoding or settings.DEFAULT_CHARSET)


def address_header(name, value):
    """The header Django's ``EmailMessage.message()`` would write: non-ASCII domains in IDNA,
    as RFC 2047 encoded-words are not allowed there."""
    header = SMTP_POLICY.header_factory(name, value)
    if all(address.domain.isascii() for address in header.addresses):
        return header
    return SMTP_POLICY.header_factory(
        name,
        [
            Address(
                display_name=address.display_name, username=address.username, domain=punycode(address.domain)
            )
            for address in header.addresses
        ],
    )
