"""One open mailer of a batch's connection (``MailSession``), and how an email is handed to it
(``transmit``): down the flattened SMTP path where the mailer is Django's SMTP mailer, through
the mailer's own ``send_messages()`` otherwise."""

import contextlib
import socket
from dataclasses import dataclass
from typing import Any

from spire_notify.pinned.django_smtp import FlattenedSMTPSender, send_through_mailer


@dataclass(frozen=True)
class MailSession:
    """One open mailer of a batch, its MAILERS alias, and whether it sends down the flattened
    SMTP path. A ``FailoverSession`` answers the same calls over several of them."""

    mailer: Any
    flattens: bool
    alias: str = ""

    def send(self, hand, failed=None):
        """``hand(self)``; returns ``""``: one mailer, no route to name (nor ``failed`` mailers
        of the batch to avoid)."""
        hand(self)
        return ""

    def close(self):
        self.mailer.close()

    def abort(self):
        # smtplib's close() drops the socket; the mailer's would first wait for QUIT's reply.
        # shutdown() first: a lane's thread blocked reading this socket's reply wakes only on a
        # shutdown, never on a close() from another thread.
        smtp = getattr(self.mailer, "connection", None)
        if smtp is not None:
            sock = getattr(smtp, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            smtp.close()
            self.mailer.connection = None


def transmit(email, message_id, flattenings, session):
    """Hand ``email`` to the mailer of ``session`` (a ``MailSession``)."""
    if session.flattens:
        FlattenedSMTPSender(session.mailer, flattenings).send(email, message_id)
    else:
        send_through_mailer(session.mailer, email, message_id)
