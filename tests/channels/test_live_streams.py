"""The live inbox's streams as an attacker and a busy site use them (issue 18, item 1), against
uvicorn over real sockets: one user's streams are capped and the rest refused with a reason;
an open stream holds no database connection; a stream ends within
NOTIFY_LIVE_SESSION_CHECK_SECONDS of its session ending (logout, expiry, a password change).

Figures: ``SPIRE_TEST_DB=postgres pytest tests/channels/test_live_streams.py -s -k flood`` prints, for 200
streams of one user with and without Django's connection pool, the streams opened, the answers
that were not 200, the database connections the server holds, and how the unread count answers
during the flood and after it; ``-k session_ends`` prints how soon a stream ends after a logout,
an expired session and a password change, and what it carried after.
"""

import http.client
import json
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connections
from django.test import Client
from django.utils import timezone

from spire_notify import Message, notify
from spire_notify.channels.live.checks import check_live_stream_settings
from tests.channels.test_live_inbox import TICKET, EventStream, signed_in_stream
from tests.support.asgi_server import UvicornProcess
from tests.support.delivery_harness import postgres_only

FLOOD = 200
OPENERS = 10  # streams requested at once during a flood
CHECK_SECONDS = 0.2
NO_ANSWER = "no answer in 5 s"
# How pg_stat_activity knows the uvicorn subprocess's connections (tests/live_settings.py).
APPLICATION_NAME = "spire-live-server"
TOO_MANY = (
    "event: stream-error\nid: error\n"
    'data: {"condition": "too-many-streams", "text": "This user has 10 live streams open, the most '
    'NOTIFY_LIVE_MAX_STREAMS_PER_USER allows: this page polls instead."}\n\n'
)
SESSION_ENDED = {"condition": "forbidden", "text": "The session of this stream has ended: sign in again."}


def session_cookie(client, user):
    client.force_login(user)
    return client.cookies["sessionid"].value


def attempt_stream(server, cookie):
    """``(status, stream)`` for a stream that opened, ``(status, body)`` for one refused, and
    ``(NO_ANSWER, "")`` for a request still waiting after 5 s."""
    try:
        stream = EventStream(server, cookie, timeout=5)
    except TimeoutError:
        return NO_ANSWER, ""
    if stream.response.status == 200:
        return 200, stream
    body = stream.response.read().decode()
    stream.close()
    return stream.response.status, body


def flood(server, cookie, *, count=FLOOD, page_every=None):
    """Ask for ``count`` streams with one session cookie, ``OPENERS`` at a time; with
    ``page_every``, ask for the unread count after every that many streams, in the same queue.
    Returns the open streams, the refusals, and the unread counts' answers."""
    with ThreadPoolExecutor(OPENERS) as openers:
        attempts, pages = [], []
        for number in range(1, count + 1):
            attempts.append(openers.submit(attempt_stream, server, cookie))
            if page_every and number % page_every == 0:
                pages.append(openers.submit(unread_count, server.port, cookie))
        attempts = [attempt.result() for attempt in attempts]
    opened = [stream for status, stream in attempts if status == 200]
    refused = [(status, body) for status, body in attempts if status != 200]
    return opened, refused, [page.result() for page in pages]


def close_all(streams):
    for stream in streams:
        stream.close()


class StreamRecorder:
    """Every event one stream carries, recorded by a thread until the server ends it (or the
    test closes it); pings sent to wake a new stream are left out."""

    def __init__(self, stream):
        self.stream = stream
        self.events = []
        self.closing = threading.Event()
        self.ended_by_server = threading.Event()
        self.thread = threading.Thread(target=self._record, daemon=True)
        self.thread.start()

    def _record(self):
        name, data = None, []
        try:
            for line in iter(self.stream.response.readline, b""):
                line = line.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data.append(line.removeprefix("data: "))
                elif line == "" and name:
                    if name != "ping":
                        self.events.append((name, json.loads("\n".join(data)) if data != [""] else None))
                    name, data = None, []
        except (OSError, http.client.HTTPException):
            pass  # the server cut the stream short, or the test closed it
        if not self.closing.is_set():
            self.ended_by_server.set()

    def close(self):
        self.closing.set()
        if not self.ended_by_server.is_set():
            # Ends the thread's read, which closing the socket from this thread would not.
            self.stream.connection.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=5)
        self.stream.close()


def log_out(client, user):
    assert client.post("/accounts/logout/").status_code == 302


def expire_session(client, user):
    key = client.cookies["sessionid"].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))


def change_password(client, user):
    user.set_password("a new password")
    user.save()


@pytest.mark.parametrize("end_session", [log_out, expire_session, change_password])
def test_a_stream_ends_within_the_check_interval_once_its_session_ends(
    live_server_asgi, client, make_user, settings, end_session
):
    settings.NOTIFY_LIVE_SESSION_CHECK_SECONDS = CHECK_SECONDS
    developer = make_user("dev")
    recorder = StreamRecorder(signed_in_stream(live_server_asgi, client, developer))
    try:
        end_session(client, developer)
        ended = time.monotonic()
        stopped = recorder.ended_by_server.wait(timeout=CHECK_SECONDS + 2)
        stopped_after = time.monotonic() - ended
        # Whatever is written from now on never reaches the page of a signed-out user.
        notify(TICKET, {developer: ["app"]})
        time.sleep(0.3)
    finally:
        recorder.close()
    print(
        f"\n[live session end, {end_session.__name__}] ended: {stopped} after {stopped_after:.2f}s, {recorder.events}"
    )
    assert (stopped, recorder.events) == (True, [("stream-error", SESSION_ENDED)])
    assert stopped_after < CHECK_SECONDS + 0.5


def test_a_stream_whose_session_lasts_carries_on_past_its_checks(
    live_server_asgi, client, make_user, settings
):
    settings.NOTIFY_LIVE_SESSION_CHECK_SECONDS = CHECK_SECONDS
    developer = make_user("dev")
    recorder = StreamRecorder(signed_in_stream(live_server_asgi, client, developer))
    try:
        time.sleep(CHECK_SECONDS * 4)
        notify(TICKET, {developer: ["app"]})
        deadline = time.monotonic() + 2
        while not recorder.events and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        recorder.close()
    assert [(name, data["notifications"][0]["title"]) for name, data in recorder.events] == [
        ("notifications", "New Help Desk Ticket #7")
    ]
    assert not recorder.ended_by_server.is_set()


def test_a_session_check_that_fails_ends_the_stream_and_gives_its_place_back(
    live_server_asgi, client, make_user, settings
):
    settings.NOTIFY_LIVE_MAX_STREAMS_PER_USER = 1
    settings.NOTIFY_LIVE_SESSION_CHECK_SECONDS = CHECK_SECONDS
    engine = settings.SESSION_ENGINE
    developer = make_user("dev")
    recorder = StreamRecorder(signed_in_stream(live_server_asgi, client, developer))
    try:
        # The next check cannot read the session: the stream must end, not carry on unchecked.
        settings.SESSION_ENGINE = "tests.no_such_session_engine"
        stopped = recorder.ended_by_server.wait(timeout=CHECK_SECONDS + 2)
    finally:
        settings.SESSION_ENGINE = engine
        recorder.close()
    assert (stopped, recorder.events) == (True, [])
    stream = EventStream(live_server_asgi, client.cookies["sessionid"].value)
    try:
        assert stream.response.status == 200
    finally:
        stream.close()


def test_a_stream_closed_before_it_started_gives_its_place_back(
    transactional_db, client, make_user, settings
):
    # transactional_db: closing a response ends its request, which closes the connection of a
    # test that holds it in a transaction.
    settings.NOTIFY_LIVE_UPDATES = True
    settings.NOTIFY_LIVE_MAX_STREAMS_PER_USER = 1
    client.force_login(make_user("dev"))
    # The test client hands the streaming response back unread: as a server does for a page
    # that went away before its stream began.
    first = client.get("/notifications/live/")
    assert [first.status_code, client.get("/notifications/live/").status_code] == [200, 429]
    first.close()
    second = client.get("/notifications/live/")
    assert second.status_code == 200
    second.close()


def test_streams_over_the_cap_are_refused_with_a_reason_and_a_closed_one_frees_its_place(
    live_server_asgi, client, make_user
):
    developer, manager = make_user("dev"), make_user("manager")
    cookie = session_cookie(client, developer)
    opened, refused, _ = flood(live_server_asgi, cookie)
    try:
        assert (len(opened), Counter(refused)) == (10, {(429, TOO_MANY): FLOOD - 10})
        # The cap is per user: another user's stream opens.
        other = EventStream(live_server_asgi, session_cookie(Client(), manager))
        assert other.response.status == 200
        other.close()
        # A page that goes away gives its place back, once the server sees the socket close.
        opened.pop().close()
        deadline = time.monotonic() + 5
        while (attempt := attempt_stream(live_server_asgi, cookie))[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert attempt[0] == 200
        opened.append(attempt[1])
    finally:
        close_all(opened)


def test_a_stream_django_eventstream_refuses_gives_its_place_back(
    live_server_asgi, client, make_user, settings
):
    settings.NOTIFY_LIVE_MAX_STREAMS_PER_USER = 1
    cookie = session_cookie(client, make_user("dev"))
    for _ in range(3):
        # What EventSource would send after a stream-error, were it to reconnect.
        connection = http.client.HTTPConnection("127.0.0.1", live_server_asgi.port, timeout=5)
        connection.request(
            "GET", "/notifications/live/", headers={"Cookie": f"sessionid={cookie}", "Last-Event-ID": "error"}
        )
        response = connection.getresponse()
        assert (response.status, response.read()) == (
            400,
            b"Invalid request: Can't resume session after stream-error.\n",
        )
        connection.close()
    stream = EventStream(live_server_asgi, cookie)
    try:
        assert stream.response.status == 200
    finally:
        stream.close()


def observer():
    """A connection of the test's own to the PostgreSQL server, to read ``pg_stat_activity``."""
    settings_dict = connections["default"].settings_dict
    return psycopg.connect(
        host=settings_dict["HOST"],
        port=settings_dict["PORT"],
        user=settings_dict["USER"],
        dbname="postgres",
        autocommit=True,
    )


def long_lived_connections(watch, *, older_than, excluding):
    """The server's connections to the test database that have lived longer than ``older_than``
    seconds, other than the backends ``excluding``: the test's own."""
    [(count,)] = watch.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> ALL(%s)"
        " AND now() - backend_start > make_interval(secs => %s)",
        [connections["default"].settings_dict["NAME"], list(excluding), older_than],
    ).fetchall()
    return count


@pytest.mark.postgres
@postgres_only
def test_a_stream_holds_no_database_connection_between_its_session_checks(
    live_server_asgi, client, make_user, settings
):
    settings.NOTIFY_LIVE_SESSION_CHECK_SECONDS = CHECK_SECONDS
    developer = make_user("dev")
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [test_backend] = cursor.fetchone()
    stream = signed_in_stream(live_server_asgi, client, developer)
    with observer() as watch:
        try:
            time.sleep(CHECK_SECONDS * 5)  # five session checks, each on a connection it closes
            [(observer_backend,)] = watch.execute("SELECT pg_backend_pid()").fetchall()
            held = long_lived_connections(
                watch, older_than=CHECK_SECONDS * 2, excluding={test_backend, observer_backend}
            )
        finally:
            stream.close()
    assert held == 0


def server_connections(watch, db_name):
    [(count,)] = watch.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
        [db_name, APPLICATION_NAME],
    ).fetchall()
    return count


def settled_server_connections(watch, db_name, *, at_most, within=3.0):
    """The server's connections once its last requests have finished (they close a moment
    after the answer), or after ``within`` seconds if they never come down to ``at_most``."""
    deadline = time.monotonic() + within
    while (count := server_connections(watch, db_name)) > at_most and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def unread_count(port, cookie):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/notifications/unread-count/", headers={"Cookie": f"sessionid={cookie}"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    except TimeoutError:
        return NO_ANSWER, ""
    finally:
        connection.close()


@pytest.mark.postgres
@postgres_only
@pytest.mark.parametrize("pool_size", [None, 20], ids=["no pool", "pool of 20"])
def test_a_flood_of_200_streams_holds_no_connection_and_the_site_keeps_answering(
    transactional_db, client, make_user, pool_size
):
    developer = make_user("dev")
    notify(Message(event="e", title="Deploy failed"), {developer: ["app"]})
    cookie = session_cookie(client, developer)
    db_name = connections["default"].settings_dict["NAME"]
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.live_settings",
        "SPIRE_LIVE_DB_NAME": db_name,
        "SPIRE_LIVE_APPLICATION_NAME": APPLICATION_NAME,
        "SPIRE_LIVE_MAX_STREAMS": str(FLOOD),  # the cap is tested above: here all 200 may open
        "SPIRE_LIVE_POOL_SIZE": str(pool_size or ""),
    }
    with UvicornProcess(env) as server, observer() as watch:
        opened, refused, answers_during = flood(server, cookie, page_every=10)
        try:
            held = settled_server_connections(watch, db_name, at_most=pool_size or 0)
            # More requests at once than the pool has connections: each waits for one, briefly.
            started = time.monotonic()
            with ThreadPoolExecutor(30) as pages:
                answers = Counter(pages.map(lambda _: unread_count(server.port, cookie), range(30)))
            slowest = time.monotonic() - started
        finally:
            close_all(opened)
    figures = {
        "streams opened": len(opened),
        "refused": Counter(status for status, _ in refused),
        "connections held": held,
        "unread-count answers during the flood": Counter(status for status, _ in answers_during),
        "unread-count answers, 30 at once, after": Counter(status for status, _ in answers.elements()),
    }
    print(
        f"\n[live flood, {'no pool' if pool_size is None else f'pool of {pool_size}'}] {figures}, {slowest:.2f}s"
    )
    assert figures == {
        "streams opened": FLOOD,
        "refused": Counter(),
        # Without a pool nothing stays open; a pool keeps idle connections for the next request,
        # never more than its size.
        "connections held": min(held, pool_size) if pool_size else 0,
        "unread-count answers during the flood": {200: FLOOD // 10},
        "unread-count answers, 30 at once, after": {200: 30},
    }
    assert set(answers_during) == {(200, '{"unread": 1}')}
    assert answers == {(200, '{"unread": 1}'): 30}
    assert slowest < 5


@pytest.mark.parametrize(
    "setting, value, error_id, message",
    [
        (
            "NOTIFY_LIVE_MAX_STREAMS_PER_USER",
            0,
            "spire_notify.E071",
            "NOTIFY_LIVE_MAX_STREAMS_PER_USER must be a positive whole number, not 0.",
        ),
        (
            "NOTIFY_LIVE_MAX_STREAMS_PER_USER",
            "10",
            "spire_notify.E071",
            "NOTIFY_LIVE_MAX_STREAMS_PER_USER must be a positive whole number, not '10'.",
        ),
        (
            "NOTIFY_LIVE_SESSION_CHECK_SECONDS",
            -1,
            "spire_notify.E072",
            "NOTIFY_LIVE_SESSION_CHECK_SECONDS must be a positive number of seconds, not -1.",
        ),
        (
            "NOTIFY_LIVE_SESSION_CHECK_SECONDS",
            True,
            "spire_notify.E072",
            "NOTIFY_LIVE_SESSION_CHECK_SECONDS must be a positive number of seconds, not True.",
        ),
    ],
)
def test_the_checks_name_a_wrong_stream_setting(settings, setting, value, error_id, message):
    assert check_live_stream_settings() == []
    setattr(settings, setting, value)
    [error] = check_live_stream_settings()
    assert (error.id, error.msg) == (error_id, message)


def test_the_checks_run_at_startup(settings):
    settings.NOTIFY_LIVE_SESSION_CHECK_SECONDS = 0
    with pytest.raises(SystemCheckError, match="spire_notify.E072"):
        call_command("check")
