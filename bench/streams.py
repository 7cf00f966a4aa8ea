"""P9: live-inbox streams held open in one ASGI process, and one notification for all of them.

uvicorn serves the project in a process of its own (``bench.live_settings``); this process opens
one server-sent-event stream per user over a socket of its own (aiohttp, a session cookie each),
then writes ONE notification for every user with ``notify(message, users, channels=["app"])``.
Its commit publishes through Redis (``EVENTSTREAM_REDIS``), as any writer outside the web process
must. Measured: from the commit to the moment each stream has the event (first, median, last),
and the server's resident memory with the streams open, per stream.
"""

import asyncio
import json
import secrets
import statistics
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from spire_notify import Message, notify
from spire_notify.channels.live.events import publish
from tests.support.asgi_server import UvicornProcess

from . import population
from .measure import Row, ms

TARGET_SECONDS = 1.0
OPENING_AT_ONCE = 20  # streams being opened at a time, as pages load
WAIT_SECONDS = 30


def redis_unreachable():
    """``None`` if Redis answers where ``EVENTSTREAM_REDIS`` points, else why not."""
    import redis

    try:
        redis.Redis(**settings.EVENTSTREAM_REDIS, socket_connect_timeout=3).ping()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def session_cookies(users):
    """A signed-in session per user, written in one statement; their keys are the cookies."""
    encoder = SessionStore()
    expires = timezone.now() + timedelta(days=1)
    sessions = [
        Session(
            session_key=secrets.token_hex(16),
            session_data=encoder.encode(
                {
                    SESSION_KEY: str(user.pk),
                    BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                    HASH_SESSION_KEY: user.get_session_auth_hash(),
                }
            ),
            expire_date=expires,
        )
        for user in users
    ]
    Session.objects.bulk_create(sessions)
    return [session.session_key for session in sessions]


def resident_memory(pid):
    """``(RSS in bytes, threads)`` of process ``pid``."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["Threads"])


class StreamReaders:
    """The streams, read in an event loop on a thread of their own: each records when it first
    heard a ``ping`` and when it received the notification that carries ``expected_title``."""

    def __init__(self, url):
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.session = None
        self.pinged = set()
        self.arrivals = {}
        self.expected_title = None
        self.all_arrived = threading.Event()
        self.tasks = []

    def run(self, coroutine, timeout=None):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def open(self, cookies):
        """Open one stream per cookie; returns how many answered with anything but 200."""
        return self.run(self._open_all(cookies))

    async def _open_all(self, cookies):
        import aiohttp

        if self.session is None:
            # No connection limit: every stream is a socket of its own, as every browser tab is.
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, force_close=True),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
            )
        gate = asyncio.Semaphore(OPENING_AT_ONCE)
        opened = await asyncio.gather(*(self._open_one(gate, cookie) for cookie in cookies))
        return sum(1 for status in opened if status != 200)

    async def _open_one(self, gate, cookie):
        async with gate:
            response = await self.session.get(
                f"{self.url}/notifications/live/",
                headers={"Cookie": f"sessionid={cookie}", "Accept": "text/event-stream"},
            )
            if response.status != 200:
                response.release()
                return response.status
            async for name, _ in self._events(response):
                if name == "stream-open":
                    break
        self.tasks.append(asyncio.ensure_future(self._read(cookie, response)))
        return 200

    async def _events(self, response):
        name, data = None, []
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data.append(line.removeprefix("data: "))
            elif line == "" and name:
                yield name, "\n".join(data)
                name, data = None, []

    async def _read(self, cookie, response):
        async for name, data in self._events(response):
            if name == "ping":
                self.pinged.add(cookie)
            elif name == "notifications" and self.expected_title:
                # Another run sharing the Redis server publishes on the same channel names.
                items = json.loads(data)["notifications"]
                if items and items[0]["title"] == self.expected_title and cookie not in self.arrivals:
                    self.arrivals[cookie] = time.perf_counter()
                    if len(self.arrivals) == self.expected:
                        self.all_arrived.set()

    def expect(self, title, count):
        self.arrivals = {}
        self.expected = count
        self.all_arrived.clear()
        self.expected_title = title

    def close(self):
        async def shut():
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            if self.session is not None:
                await self.session.close()

        self.run(shut(), timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def wait_until_listening(readers, users, count):
    """A new stream drops what is published before it waits for events (django-eventstream would
    read them back from its storage, and there is none): ping every user until all have heard."""
    deadline = time.monotonic() + WAIT_SECONDS
    while len(readers.pinged) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(readers.pinged)} of {count} streams heard a ping")
        for user in users:
            publish(user.pk, "ping", None)
        time.sleep(0.5)


def one_notification(readers, users, count, round_number):
    """Write one notification for every user; the seconds from its commit to each arrival."""
    title = f"P9 round {round_number} {secrets.token_hex(4)}"
    readers.expect(title, count)
    queryset = get_user_model().objects.filter(pk__in=[user.pk for user in users])
    marks = {}
    with transaction.atomic():
        # Registered before notify()'s own hooks, so it runs first: the moment of the commit.
        transaction.on_commit(lambda: marks.setdefault("commit", time.perf_counter()))
        notify(Message(event="bench.live", title=title, body="Live-inbox bench"), queryset, channels=["app"])
    marks["published"] = time.perf_counter()
    if not readers.all_arrived.wait(WAIT_SECONDS):
        raise RuntimeError(f"{len(readers.arrivals)} of {count} streams had the notification after 30 s")
    latencies = sorted(arrival - marks["commit"] for arrival in readers.arrivals.values())
    return {
        "first": latencies[0],
        "median": statistics.median(latencies),
        "last": latencies[-1],
        "published": marks["published"] - marks["commit"],
    }


def p9_streams(count, rounds):
    if reason := redis_unreachable():
        return [Row(id="P9", what="live streams", ours=f"skipped: Redis is unreachable ({reason})")]
    users = population.make_users("p9-", count)
    cookies = session_cookies(users)
    environment = {
        "DJANGO_SETTINGS_MODULE": "bench.live_settings",
        "BENCH_DB_NAME": connection.settings_dict["NAME"],
    }
    with UvicornProcess(environment) as server, override_settings(NOTIFY_LIVE_UPDATES=True):
        readers = StreamReaders(server.url)
        try:
            # One stream first, so that what every stream shares (imports, the Redis listener)
            # is in the baseline, not in the figure per stream.
            refused = readers.open(cookies[:1])
            time.sleep(0.5)
            before, threads_before = resident_memory(server.process.pid)
            refused += readers.open(cookies[1:])
            if refused:
                raise RuntimeError(f"{refused} of {count} streams were refused")
            wait_until_listening(readers, users, count)
            after, threads_after = resident_memory(server.process.pid)
            timings = [one_notification(readers, users, count, number) for number in range(rounds)]
        finally:
            readers.close()
    per_stream = (after - before) / (count - 1)
    # The round whose last arrival is the median of the rounds, with where its time went.
    middle = sorted(timings, key=lambda timing: timing["last"])[len(timings) // 2]
    last = middle["last"]
    spread = (
        f"first {ms(middle['first'])}, median {ms(middle['median'])}; "
        f"the writer published for {ms(middle['published'])}"
    )
    return [
        Row(
            id="P9",
            what=f"{count:,} live streams, one notify(): commit → last stream (median of {rounds})",
            ours=ms(last),
            baseline=spread,
            target="≤ 1 s",
            met=last <= TARGET_SECONDS,
            values={"streams": count, "rounds": timings},
        ),
        Row(
            id="P9",
            what=f"memory per open stream (uvicorn RSS, {count:,} streams)",
            ours=f"{per_stream / 1024:.1f} KiB",
            baseline=(
                f"RSS {before / 2**20:.1f} → {after / 2**20:.1f} MiB, "
                f"threads {threads_before} → {threads_after}"
            ),
            values={"rss_before": before, "rss_after": after, "threads": [threads_before, threads_after]},
        ),
    ]
