"""Failover between mailers: the email channel's ``failover`` option, as Laravel's failover
transport does it.

A ``FailoverSession`` is one connection of a batch that may go through several mailers: the
channel's own first, then each ``failover`` alias in turn. A message goes through the first
mailer that has not failed; a mailer that cannot be reached or answers a transient ``4xx``
(``smtp_errors.another_mailer_may_take``) has failed, and the same message goes through the
next one, within the same attempt. A mailer that failed is not asked again for the rest of the
batch, so its timeout is paid once, not once per message; the next batch tries it first again.

What failed is the batch's (``FailedMailers``, made with the batch in the worker's thread), and
a batch's connections (``connections``, run side by side, a thread each) share it under a lock:
a mailer one of them found down is not tried by the others. A session opens nothing until its
first message, so the connections meet a mailer that never answers side by side, and the batch
waits about one timeout for it. A session is used by its own thread, but for ``abort()``, the
worker's stop from its own thread: an ``Event`` tells the session that the error it meets then
is the stop, not a mailer to fail over from.
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


class FailedMailers:
    """The mailers that failed during one batch, and the error each failed with first."""

    def __init__(self):
        self._errors = {}
        self._lock = threading.Lock()

    def record(self, alias, error):
        with self._lock:
            self._errors.setdefault(alias, error)

    def first_working(self, aliases):
        """The first of ``aliases`` that has not failed; ``EveryMailerFailed`` if none."""
        with self._lock:
            for alias in aliases:
                if alias not in self._errors:
                    return alias
            raise EveryMailerFailed({alias: self._errors[alias] for alias in aliases})


class FailoverSession:
    """The mailers ``aliases`` (the primary first) as one connection of a batch;
    ``open_mailer(alias)`` opens one and returns its ``MailSession``."""

    def __init__(self, aliases, open_mailer):
        self.aliases = tuple(aliases)
        self.open_mailer = open_mailer
        self.current = None
        self.aborted = threading.Event()

    def send(self, hand, failed):
        """``hand(mail_session)`` through the first mailer of the batch that has not ``failed``
        (``FailedMailers``); returns its alias. Raises ``EveryMailerFailed`` once none is left,
        and what no other mailer could mend (a ``5xx``, an unsendable message) as it is."""
        while True:
            alias = failed.first_working(self.aliases)
            session = None
            try:
                session = self._session_of(alias)
                hand(session)
            except ImproperlyConfigured:
                raise
            except Exception as error:
                # Dropped by a stop, the email is not handed to another mailer behind it,
                # where its outcome would never be recorded.
                opening = session is None
                if self.aborted.is_set() or not another_mailer_may_take(error, opening=opening):
                    raise
                failed.record(alias, error)
                self._drop()
            else:
                return alias

    def close(self):
        if self.current is not None:
            self.current.close()

    def abort(self):
        self.aborted.set()
        if self.current is not None:
            self.current.abort()

    def _session_of(self, alias):
        """The open ``MailSession`` of ``alias``; the one of a mailer the batch gave up since
        it was opened is dropped first."""
        if self.current is not None and self.current.alias != alias:
            self._drop()
        if self.current is None:
            self._refuse_once_stopped()
            self.current = self.open_mailer(alias)
            # A stop while this connection opened found none to drop: drop it here.
            self._refuse_once_stopped()
        return self.current

    def _refuse_once_stopped(self):
        if self.aborted.is_set():
            self._drop()
            raise ConnectionAbortedError("the batch was stopped")

    def _drop(self):
        if self.current is not None:
            # Dropped, not closed: a polite QUIT could wait on the very server that failed.
            self.current.abort()
            self.current = None
