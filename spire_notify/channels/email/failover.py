"""Failover between mailers: the email channel's ``failover`` option, as Laravel's failover
transport does it.

A ``FailoverSession`` is one connection of a batch that may go through several mailers: the
channel's own first, then each ``failover`` alias in turn. A message goes through the first
mailer that has not failed; a mailer that cannot be reached or answers a transient ``4xx``
(``smtp_errors.another_mailer_may_take``) has failed, and the same message goes through the
next one, within the same attempt. A mailer that failed is not asked again for the rest of the
batch, so its timeout is paid once, not once per message; the next batch opens new sessions
and tries it first again.

Each of a batch's connections (``connections``, run side by side, a thread each) has a session
of its own, used by its thread alone: it needs no lock, and each connection finds out on its
own that a mailer is down (side by side, so a batch waits about one timeout for it). The one
call from another thread is ``abort()``, the worker's stop: an ``Event`` tells the session's own
thread that the error it then meets is the stop, not a mailer to fail over from.
"""

import threading

from django.core.exceptions import ImproperlyConfigured

from spire_notify.channels.email.smtp_errors import another_mailer_may_take, classify_send_error


class EveryMailerFailed(Exception):
    """Every mailer of a failover failed; ``errors`` holds each one's error, the channel's own
    mailer first, so that the delivery ends as the primary's error says (retried as before)."""

    def __init__(self, errors):
        self.errors = dict(errors)
        described = "; ".join(
            f"{alias!r}: {classify_send_error(error).error}" for alias, error in self.errors.items()
        )
        super().__init__(f"every mailer failed: {described}")

    @property
    def primary_error(self):
        return next(iter(self.errors.values()))


class FailoverSession:
    """The mailers ``aliases`` (the primary first) as one session; ``open_mailer(alias)`` opens
    one and returns its ``MailSession``."""

    def __init__(self, aliases, open_mailer):
        self.aliases = tuple(aliases)
        self.open_mailer = open_mailer
        self.failed = {}  # alias -> the error it failed with, for the rest of the batch
        self.current = None
        self.aborted = threading.Event()
        self._open_next()

    @property
    def mailer(self):
        return self.current.mailer

    def send(self, hand):
        """``hand(mail_session)`` through the first mailer that takes it; returns its alias.
        Raises ``EveryMailerFailed`` once none is left, and what no other mailer could mend
        (a ``5xx``, an unsendable message) as it is."""
        while True:
            if self.current is None:
                self._open_next()
            try:
                hand(self.current)
            except Exception as error:
                # Dropped by a stop, the email is not handed to another mailer behind it,
                # where its outcome would never be recorded.
                if self.aborted.is_set() or not another_mailer_may_take(error):
                    raise
                self._give_up_current(error)
            else:
                return self.current.alias

    def close(self):
        if self.current is not None:
            self.current.close()

    def abort(self):
        self.aborted.set()
        if self.current is not None:
            self.current.abort()

    def _open_next(self):
        for alias in self.aliases:
            if alias in self.failed:
                continue
            try:
                self.current = self.open_mailer(alias)
                return
            except ImproperlyConfigured:
                raise
            except Exception as error:
                if not another_mailer_may_take(error, opening=True):
                    raise
                self.failed[alias] = error
        raise EveryMailerFailed({alias: self.failed[alias] for alias in self.aliases})

    def _give_up_current(self, error):
        self.failed[self.current.alias] = error
        # Dropped, not closed: a polite QUIT could wait on the very server that failed.
        self.current.abort()
        self.current = None
