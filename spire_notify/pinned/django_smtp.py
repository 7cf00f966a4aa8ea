"""The email backend's path into Django's SMTP mailer: each message's MIME flattened once.

Django's SMTP mailer builds and flattens the whole MIME tree of every email it sends, which
costs more than the SMTP conversation itself. The emails of one message share almost all of it:
they differ in ``To``, Message-ID and per-recipient headers (List-Unsubscribe), and in the few
words of their bodies that greet the recipient or link to their unsubscribe page. So the MIME
is built and flattened once per message, each recipient's headers are put in front of it, and
a recipient whose bodies differ has only those bodies encoded again, as ``email`` would encode
them, into the same bytes (``FlattenedMIME``). Where that encoding would change a part's
headers (a greeting that needs 8bit where the shared part is 7bit), the recipient's email is
flattened on its own. Where the server advertises ``PIPELINING``, each email goes over in two
round trips instead of smtplib's four (``spire_notify.pinned.smtp_pipelining``).

Private APIs of Django's ``django.core.mail.backends.smtp.EmailBackend`` used here, pinned per
supported Django by tests/core/test_pinned.py:

- ``EmailBackend.connection``: the open ``smtplib.SMTP`` the mailer keeps;
- ``EmailBackend.prep_address()`` (Django 6.0+; ``django.core.mail.message.sanitize_address()``
  on 5.2): how the mailer turns an address into its envelope form (IDNA domains, SMTPUTF8, the
  refusal of a non-ASCII local part without it);
- ``EmailBackend._send``: compared, not called, to tell Django's own sending from a subclass's;
- ``EmailMessage.message(policy=…)`` (Django 6.0+). Django 5.2 has no such argument, so there
  the path is off (``spire_notify.compat.FLATTENED_SMTP``) and every email goes through the
  mailer's own ``send_messages()``; ``envelope_address()`` keeps 5.2's ``sanitize_address()``
  for the envelope all the same;
- and of the standard library: ``email.contentmanager._encode_text()``, the function
  ``set_content()`` (so Django's ``message()``) encodes a text part with, which
  ``spire_notify.pinned.email_text_encoding`` follows line by line to encode a recipient's
  bodies exactly as the whole MIME would have them.
"""

import email.policy
import re
import threading
from dataclasses import dataclass
from email.headerregistry import Address

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend as SMTPMailer
from django.utils.encoding import punycode

from spire_notify.compat import FLATTENED_SMTP
from spire_notify.pinned.email_text_encoding import TextPartEncoder
from spire_notify.pinned.smtp_pipelining import can_pipeline, send_pipelined

# The policy Django's SMTP mailer flattens with: CRLF line ends, long header lines folded.
SMTP_POLICY = email.policy.SMTP

# An ASCII dot-atom address short enough to need no folding: Django's address parser returns it
# unchanged, as envelope address and as header. Parsing costs more than sending the message,
# so such addresses skip it (tests.channels.test_backend_email holds the two ways equal).
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


class Flattenings:
    """The flattened MIME of each message of a batch, built once, by whichever of the batch's
    connections (each in a thread of its own) sends one of its emails first."""

    def __init__(self):
        self._built = {}  # shared_parts(email) -> (envelope sender, FlattenedMIME)
        self._lock = threading.Lock()

    def of(self, key, build):
        with self._lock:
            if key not in self._built:
                self._built[key] = build()
            return self._built[key]


class FlattenedSMTPSender:
    """Sends emails over one SMTP mailer, flattening the MIME of each message once."""

    def __init__(self, connection, flattenings=None):
        self.connection = connection
        self.flattenings = flattenings or Flattenings()

    def send(self, email_message, message_id):
        key = shared_parts(email_message)
        if key is None:
            # Not the shape the email backend renders: Django's own path.
            send_through_mailer(self.connection, email_message, message_id)
            return
        sender, shared = self.flattenings.of(
            key,
            lambda: (
                envelope_address(self.connection, email_message.from_email, email_message.encoding),
                FlattenedMIME(email_message),
            ),
        )
        body = shared.with_bodies_of(email_message)
        if body is None:
            body = flatten_without_recipient(email_message)
        [to] = email_message.to
        envelope_recipient, headers = recipient_envelope_and_header(self.connection, to)
        headers += SMTP_POLICY.fold_binary("Message-ID", message_id)
        for name, value in email_message.extra_headers.items():
            headers += SMTP_POLICY.fold_binary(name, value)
        # After a failed reconnect there is no connection; send_messages() would try again too.
        self.connection.open()
        smtp = self.connection.connection
        if can_pipeline(smtp):
            send_pipelined(smtp, sender, envelope_recipient, headers + body)
        else:
            smtp.sendmail(sender, [envelope_recipient], headers + body)


def send_through_mailer(connection, email_message, message_id):
    email_message.extra_headers["Message-ID"] = message_id
    connection.send_messages([email_message])


# Headers that differ from one recipient to the next, put in front like To; any other extra
# header sends the message down Django's own path.
PER_RECIPIENT_HEADERS = {"List-Unsubscribe", "List-Unsubscribe-Post", "X-Original-To"}


def shared_parts(email_message):
    """What the MIME of ``email_message`` shares with the other emails of its message: all but
    its one ``To``, its Message-ID, its per-recipient headers and the text of its bodies; or
    ``None`` when it has more (Cc, Bcc, attachments, other headers) than the fast path sends."""
    if (
        type(email_message) is not EmailMultiAlternatives
        or email_message.recipients() != email_message.to
        or len(email_message.to) != 1
        or email_message.cc
        or email_message.bcc
        or email_message.reply_to
        or email_message.attachments
        or not set(email_message.extra_headers) <= PER_RECIPIENT_HEADERS
        or any(not alternative[1].startswith("text/") for alternative in email_message.alternatives)
    ):
        return None
    return (
        email_message.subject,
        email_message.from_email,
        email_message.encoding,
        email_message.content_subtype,
        bool(email_message.body),
        tuple(mimetype for _, mimetype in email_message.alternatives),
    )


def text_bodies(email_message):
    """The texts of the MIME parts ``message()`` makes of ``email_message``, in their order: the
    body (unless it is empty and there are alternatives), then each alternative."""
    body = [email_message.body] if email_message.body or not email_message.alternatives else []
    return body + [content for content, _ in email_message.alternatives]


@dataclass(frozen=True)
class EncodedBody:
    """One text part of a flattened MIME: its text, and its encoded bytes at ``start:end``."""

    text: str
    transfer_encoding: str
    start: int
    end: int


class FlattenedMIME:
    """The MIME of one email as bytes, without ``To``, Message-ID and per-recipient headers,
    knowing where each text part's encoded body lies in them.

    ``with_bodies_of(other)`` is the same bytes for another email of the same
    ``shared_parts()`` whose bodies may differ: each different body is encoded as
    ``set_content()`` encodes it and put in place of the original. ``None`` when that would not
    be the bytes ``other``'s own MIME flattens to: a body whose encoding differs from the
    original's (its ``Content-Transfer-Encoding`` header would differ) or that holds the boundary.
    """

    def __init__(self, email_message):
        self.charset = email_message.encoding or settings.DEFAULT_CHARSET
        self.encoder = TextPartEncoder(self.charset, SMTP_POLICY)
        mime = mime_without_recipient(email_message)
        self.bytes = mime.as_bytes()
        self.boundary = (mime.get_boundary() or "").encode()
        self.texts = text_bodies(email_message)
        self.bodies = self._locate(self.texts, [part for part in mime.walk() if not part.is_multipart()])

    def _locate(self, texts, parts):
        """Where each body's encoding lies in the bytes, found in order; ``None`` if one is not
        where ``set_content()`` would have put it (then only identical emails share the bytes)."""
        if len(texts) != len(parts):
            return None
        bodies, offset = [], 0
        for text, part in zip(texts, parts, strict=True):
            transfer_encoding, encoded = self._encode(text)
            start = self.bytes.find(encoded, offset)
            if start < 0 or part["Content-Transfer-Encoding"] != transfer_encoding:
                return None
            offset = start + len(encoded)
            bodies.append(EncodedBody(text, transfer_encoding, start, offset))
        return bodies

    def _encode(self, text):
        transfer_encoding, data = self.encoder.encode(text)
        # What the generator writes of the payload: every line end as the policy's, in bytes.
        # _encode_text() splits the text into lines first, so its line ends are all "\n".
        return transfer_encoding, data.replace("\n", "\r\n").encode("ascii", "surrogateescape")

    def with_bodies_of(self, email_message):
        texts = text_bodies(email_message)
        if texts == self.texts:
            return self.bytes
        if self.bodies is None or len(texts) != len(self.bodies):
            return None
        pieces, offset = [], 0
        for text, body in zip(texts, self.bodies, strict=True):
            if text == body.text:
                continue
            transfer_encoding, encoded = self._encode(text)
            if transfer_encoding != body.transfer_encoding or (self.boundary and self.boundary in encoded):
                return None
            pieces += [self.bytes[offset : body.start], encoded]
            offset = body.end
        pieces.append(self.bytes[offset:])
        return b"".join(pieces)


def mime_without_recipient(email_message):
    """The MIME of ``email_message`` without its ``To``, Message-ID and per-recipient headers."""
    mime = email_message.message(policy=SMTP_POLICY)
    for name in ("To", "Message-ID", *email_message.extra_headers):
        del mime[name]
    return mime


def flatten_without_recipient(email_message):
    return mime_without_recipient(email_message).as_bytes()


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
