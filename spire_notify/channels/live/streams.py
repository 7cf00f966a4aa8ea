"""What keeps the live inbox's streams from taking the site down or outliving their session.

A stream is a request that lasts for hours, so three things a short request never needs:

- **No database connection while it waits.** Django closes a request's connection when the
  response ends, which for a stream is when the page goes away: 100 open tabs would hold 100
  connections (PostgreSQL's default ``max_connections``) and a pool of 20 would be taken by 20.
  A stream closes its connection as it starts and after each read of events, and each session
  check opens one and closes it.
- **A cap per user.** ``NOTIFY_LIVE_MAX_STREAMS_PER_USER`` streams of one user at a time, counted
  in this process; the next is refused with 429 and a ``stream-error`` event, and its page polls.
- **An end when the session ends.** Every ``NOTIFY_LIVE_SESSION_CHECK_SECONDS`` the stream reads
  its session again, as Django's authentication would at the next request: a session that was
  logged out, has expired, or no longer matches the user's password ends the stream.
"""

import asyncio
import threading
from collections import Counter
from importlib import import_module

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.db import connections
from django.utils.crypto import constant_time_compare

from spire_notify import conf


class StreamCounter:
    """How many live streams each user holds open in this process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open = Counter()

    def take(self, user_id):
        """A ``StreamPlace`` for one more stream of ``user_id``, or None at the cap."""
        with self._lock:
            if self._open[user_id] >= conf.get("NOTIFY_LIVE_MAX_STREAMS_PER_USER"):
                return None
            self._open[user_id] += 1
        return StreamPlace(self, user_id)

    def release(self, user_id):
        with self._lock:
            self._open[user_id] -= 1
            if not self._open[user_id]:
                del self._open[user_id]


class StreamPlace:
    """One stream's place under its user's cap; giving it back twice gives it back once."""

    def __init__(self, counter, user_id):
        self._counter = counter
        self._user_id = user_id
        self._held = True

    def give_back(self):
        if self._held:
            self._held = False
            self._counter.release(self._user_id)


open_streams = StreamCounter()


def release_database_connections():
    """Close this thread's database connections (a pooled one goes back to its pool)."""
    for connection in connections.all(initialized_only=True):
        connection.close()


def session_signs_in(session_key, user):
    """Whether the session ``session_key`` still signs ``user`` in, as Django's authentication
    decides at the next request (``django.contrib.auth.get_user``): the session exists and has
    not expired, names this user and a configured backend that still finds them (active), and
    its hash still matches their password (or a secret in SECRET_KEY_FALLBACKS).

    Read-only where ``get_user`` is not: it would flush a stale session and move a session
    signed with a fallback secret to a new key, which a stream cannot send to the browser.
    """
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if session.get(SESSION_KEY) != user._meta.pk.value_to_string(user):
        return False
    backend_path = session.get(BACKEND_SESSION_KEY)
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return False
    current = load_backend(backend_path).get_user(user.pk)
    if current is None:
        return False
    if not hasattr(current, "get_session_auth_hash"):
        return True
    session_hash = session.get(HASH_SESSION_KEY) or ""
    valid_hashes = [current.get_session_auth_hash(), *current.get_session_auth_fallback_hash()]
    return bool(session_hash) and any(constant_time_compare(session_hash, valid) for valid in valid_hashes)


def still_signed_in(session_key, user):
    try:
        return session_signs_in(session_key, user)
    finally:
        release_database_connections()


class SessionBoundStream:
    """A stream's content (django-eventstream's generator of events) that holds no database
    connection, ends once the session that opened it ends, and gives its place back when it
    ends. Django calls ``close()`` when the response ends, even for a stream it never started
    (the page went away before): that gives the place back too."""

    def __init__(self, events, *, session_key, user, place, session_ended):
        self.events = events
        self.session_key = session_key
        self.user = user
        self.place = place
        self.session_ended = session_ended

    def __aiter__(self):
        return self._until_session_ends()

    def close(self):
        self.place.give_back()

    async def _until_session_ends(self):
        # sync_to_async runs in the request's own thread, whose connections these are.
        release = sync_to_async(release_database_connections)
        is_signed_in = sync_to_async(still_signed_in)
        check_every = conf.get("NOTIFY_LIVE_SESSION_CHECK_SECONDS")
        next_chunk = None
        try:
            while True:
                if next_chunk is None:
                    # What the view and the middleware opened, or django-eventstream's last read
                    # of events (which queries the database where a project configures storage).
                    await release()
                    next_chunk = asyncio.ensure_future(anext(self.events, None))
                done, _ = await asyncio.wait({next_chunk}, timeout=check_every)
                if not done:
                    if not await is_signed_in(self.session_key, self.user):
                        yield self.session_ended
                        return
                    continue
                chunk, next_chunk = next_chunk.result(), None
                if chunk is None:
                    return
                yield chunk
        finally:
            # A stream that ends by an error (a session check that cannot reach the database)
            # never gets its response closed by Django: its place is given back here too.
            self.place.give_back()
            if next_chunk is not None:
                next_chunk.cancel()
                await asyncio.wait({next_chunk})
            await self.events.aclose()
