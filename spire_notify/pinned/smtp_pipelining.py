"""One email over an open ``smtplib.SMTP`` in two round trips instead of four (RFC 2920).

``smtplib.SMTP.sendmail()`` sends ``MAIL``, ``RCPT`` and ``DATA`` one by one, waiting for each
reply, then the message and waits again: four round trips an email. A server that advertises
``PIPELINING`` (Postfix, Exim, Gmail, SES and every large relay do) takes the three commands in
one write; only the message must wait for ``DATA``'s ``354``. Over a link with a few milliseconds
of latency, that halves the time a worker waits per email. smtplib, which Django's SMTP mailer
holds open, does not pipeline, so the sequence is here, built from smtplib's own pieces on the
mailer's own connection, so that what goes on the wire is what ``sendmail()`` sends.

``send_pipelined()`` raises what ``sendmail()`` raises for the same replies
(``SMTPSenderRefused``, ``SMTPRecipientsRefused``, ``SMTPDataError``), closing the connection on
a ``421`` and resetting the session after any other refusal, so the next email starts clean.

smtplib APIs used here, pinned by tests/core/test_pinned.py: ``SMTP.send()`` (writes a string in
the connection's command encoding), ``SMTP.getreply()``, ``SMTP.ehlo_or_helo_if_needed()``,
``SMTP.has_extn()``, ``SMTP.does_esmtp``, ``SMTP.rset()``, ``SMTP.close()`` and the module's
``quoteaddr()``, which ``mail()`` and ``rcpt()`` format addresses with.
"""

import re
import smtplib

SERVICE_CLOSING = 421
READY_FOR_DATA = 354
ACCEPTED = (250, 251)


def can_pipeline(smtp):
    """Whether the server behind ``smtp`` takes pipelined commands (greeting it if not yet)."""
    smtp.ehlo_or_helo_if_needed()
    return bool(smtp.does_esmtp and smtp.has_extn("pipelining"))


def send_pipelined(smtp, sender, recipient, data):
    """Send ``data`` (bytes with CRLF line ends) from ``sender`` to ``recipient``, pipelined."""
    options = f" size={len(data)}" if smtp.has_extn("size") else ""
    mail = f"mail from:{smtplib.quoteaddr(sender)}{options}"
    smtp.send(commands(mail, f"rcpt to:{smtplib.quoteaddr(recipient)}", "data"))
    replies = PipelinedReplies(smtp)
    code, reply = replies.next()
    if code != 250:
        replies.refused(code, smtplib.SMTPSenderRefused(code, reply, sender))
    code, reply = replies.next()
    if code not in ACCEPTED:
        replies.refused(code, smtplib.SMTPRecipientsRefused({recipient: (code, reply)}))
    code, reply = replies.next()
    if code != READY_FOR_DATA:
        replies.refused(code, smtplib.SMTPDataError(code, reply))
    smtp.send(end_of_data(data))
    code, reply = smtp.getreply()
    if code != 250:
        replies.refused(code, smtplib.SMTPDataError(code, reply))


def commands(*lines):
    """The lines as one write; a line break inside one is refused, as ``putcmd()`` refuses it."""
    for line in lines:
        if "\r" in line or "\n" in line:
            raise ValueError(f"command and arguments contain prohibited newline characters: {line!r}")
    return "".join(f"{line}\r\n" for line in lines)


class PipelinedReplies:
    """The replies to ``MAIL``, ``RCPT`` and ``DATA``, read in order. ``refused()`` ends the
    email on a refusal (of a command, or of the message once none is owed): on ``421`` it closes
    the connection; otherwise it reads the replies still owed (a ``354`` among them is answered
    with an empty message, as RFC 2920 asks) and resets the session. Then it raises."""

    def __init__(self, smtp):
        self.smtp = smtp
        self.owed = 3

    def next(self):
        self.owed -= 1
        return self.smtp.getreply()

    def refused(self, code, error):
        if code == SERVICE_CLOSING:
            self.smtp.close()
            raise error
        try:
            while self.owed:
                code, _ = self.next()
                if code == READY_FOR_DATA:
                    self.smtp.send(b".\r\n")
                    self.smtp.getreply()
        except smtplib.SMTPServerDisconnected:
            # getreply() closed the connection; the refusal is still this email's outcome.
            raise error from None
        reset(self.smtp)
        raise error


def reset(smtp):
    """``RSET``, as ``sendmail()`` does after a refusal; a server already gone needs none."""
    try:
        smtp.rset()
    except smtplib.SMTPServerDisconnected:
        pass


# A line starting with a dot gets a second one (RFC 5321 4.5.2), as smtplib's data() does.
LEADING_DOT = re.compile(rb"(?m)^\.")


def end_of_data(data):
    quoted = LEADING_DOT.sub(b"..", data)
    if not quoted.endswith(b"\r\n"):
        quoted += b"\r\n"
    return quoted + b".\r\n"
