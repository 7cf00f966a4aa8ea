"""What an SMTP error means for the email channel: whether the connection is gone, whether a
retry can mend the delivery, and whether another mailer may take the message instead."""

import smtplib

from spire_notify.backends.base import Outcome, describe_error
from spire_notify.channels.email.throttling import is_throttling

# Errors that mean the connection itself is gone: the next message needs a new one.
CONNECTION_ERRORS = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError)
# "Service not available, closing transmission channel": a temporary error that also ends
# the session, so the next message must not be sent over it.
SERVICE_CLOSING = 421
# Failures no retry can mend: the server or the mailer cannot take the message or the address
# as it is (Django's mailer raises ValueError for a non-ASCII local part to a server without
# SMTPUTF8, and for a header it cannot encode).
UNSENDABLE_ERRORS = (smtplib.SMTPNotSupportedError, ValueError)


def connection_lost(error):
    """Whether ``error`` left the SMTP session unusable."""
    return isinstance(error, CONNECTION_ERRORS) or getattr(error, "smtp_code", None) == SERVICE_CLOSING


def classify_send_error(error):
    """SMTP 5xx replies and unsendable messages are permanent; a relay's throttling reply is
    throttled (``throttling.is_throttling``); everything else (4xx, network, surprises) is
    retried."""
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


def another_mailer_may_take(error, *, opening=False):
    """Whether a message that met ``error`` may go through another mailer (``failover``).

    Yes when the mailer could not be reached or used (refused, timed out, TLS failed, ``421`` at
    the greeting; while ``opening``, any SMTP refusal, a failed login among them), when its
    connection was lost, or when it answered a transient ``4xx`` to the message. No for a
    permanent ``5xx`` to the message or its recipient: the address or the message is refused
    whichever mailer carries it. No for a message that cannot be sent as it is, nor for a
    configuration error.
    """
    if isinstance(error, UNSENDABLE_ERRORS) or not isinstance(error, OSError):
        return False
    if opening:
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code < 500
    return True
