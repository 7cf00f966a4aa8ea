"""The email backend's path into Django's SMTP mailer: each message's MIME flattened once.

Django's SMTP mailer builds and flattens the whole MIME tree of every email it sends, which
costs more than the SMTP conversation itself. The emails of one notification differ only in
``To`` and ``Message-ID``, so the rest is flattened once per send and each recipient's two
headers are put in front of the shared bytes.
"""

import email.policy
import re
from email.headerregistry import Address

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
                self.connection.prep_address(email_message.from_email),
                flatten_without_recipient(email_message),
            )
        sender, shared = self.flattened[key]
        [to] = email_message.to
        envelope_recipient, headers = recipient_envelope_and_header(self.connection, to)
        headers += SMTP_POLICY.fold_binary("Message-ID", message_id)
        # After a failed reconnect there is no connection; send_messages() would try again too.
        self.connection.open()
        self.connection.connection.sendmail(sender, [envelope_recipient], headers + shared)


def send_through_mailer(connection, email_message, message_id):
    email_message.extra_headers["Message-ID"] = message_id
    connection.send_messages([email_message])


def shared_parts(email_message):
    """What the MIME of ``email_message`` is made of besides its one ``To`` and its Message-ID,
    or ``None`` when it has more (Cc, Bcc, attachments, headers) than the fast path sends."""
    if (
        type(email_message) is not EmailMultiAlternatives
        or email_message.recipients() != email_message.to
        or len(email_message.to) != 1
        or email_message.cc
        or email_message.bcc
        or email_message.reply_to
        or email_message.attachments
        or email_message.extra_headers
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
    del mime["To"]
    del mime["Message-ID"]
    return mime.as_bytes()


def recipient_envelope_and_header(connection, address):
    """The envelope recipient and the folded ``To`` header Django's SMTP mailer would send."""
    if len(address) <= PLAIN_ADDRESS_MAX_LENGTH and PLAIN_ADDRESS.fullmatch(address):
        return address, f"To: {address}\r\n".encode("ascii")
    return connection.prep_address(address), SMTP_POLICY.fold_binary("To", address_header("To", address))


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
