"""Publishing a notification's live events through a real Redis server (127.0.0.1:6379): one
round trip for all the users it was written for, each event in django-eventstream's own form."""

import http.server
import json
import threading
import uuid

import pytest
import redis
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_eventstream import eventstream
from django_grip import get_pubcontrol

from spire_notify import Message, notify
from spire_notify.channels.live.events import channel_for
from spire_notify.channels.live.publishing import REDIS_CHANNEL

USERS = 50


class CountingConnection(redis.Connection):
    """A real connection to Redis that counts the times it sends commands (round trips)."""

    sends = 0

    def send_packed_command(self, command, check_health=True):
        CountingConnection.sends += 1
        return super().send_packed_command(command, check_health)


@pytest.fixture
def redis_publisher(monkeypatch, settings):
    """django-eventstream's Redis client, as ``EVENTSTREAM_REDIS`` makes it at import, counting;
    and a subscriber to its channel."""
    pool = redis.ConnectionPool(host="127.0.0.1", port=6379, connection_class=CountingConnection)
    client = redis.Redis(connection_pool=pool)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.skip(f"Redis is unreachable at 127.0.0.1:6379 ({error})")
    subscriber = redis.Redis(host="127.0.0.1", port=6379).pubsub()
    subscriber.subscribe(REDIS_CHANNEL)
    assert subscriber.get_message(timeout=5)["type"] == "subscribe"
    monkeypatch.setattr(eventstream, "redis_client", client)
    settings.NOTIFY_LIVE_UPDATES = True
    CountingConnection.sends = 0
    yield subscriber
    subscriber.close()
    pool.disconnect()


def received(subscriber, title):
    """The events of the notification titled ``title`` that reached Redis (other runs sharing the
    server publish on the same channel), by user channel."""
    events = {}
    while (item := subscriber.get_message(timeout=1)) is not None:
        event = json.loads(item["data"])
        data = json.loads(event["data"])
        if event["event_type"] == "notifications" and data["notifications"][0]["title"] == title:
            events[event["channel"]] = (event["pub_id"], data)
    return events


@pytest.mark.django_db
def test_one_notification_for_fifty_users_is_one_round_trip_to_redis(
    redis_publisher, django_capture_on_commit_callbacks
):
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"live-{n}", email=f"live-{n}@example.com") for n in range(USERS)
    )
    title = f"Outage {uuid.uuid4()}"
    message = Message(event="helpdesk.ticket.new", title=title, body="Back soon", path="/status/")
    audience = get_user_model().objects.filter(username__startswith="live-")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(message, audience, channels=["app"])
    CountingConnection.sends = 0
    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:
            callback()

    assert CountingConnection.sends == 1
    # The rows read back for the signal, and every user's unread count in one.
    assert len(queries) == 2
    events = received(redis_publisher, title)
    assert set(events) == {channel_for(user.pk) for user in users}
    pub_id, data = events[channel_for(users[0].pk)]
    assert pub_id is None
    assert data["unread"] == 1
    assert [(item["title"], item["body"]) for item in data["notifications"]] == [(title, "Back soon")]


class GripProxy(http.server.ThreadingHTTPServer):
    """A GRIP proxy's control endpoint on 127.0.0.1: records the items published to it."""

    def __init__(self):
        self.items = []
        self.received = threading.Condition()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with proxy.received:
                    proxy.items += body["items"]
                    proxy.received.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def wait_for(self, count, timeout=10):
        with self.received:
            self.received.wait_for(lambda: len(self.items) >= count, timeout)
        return self.items


@pytest.fixture
def grip_proxy():
    proxy = GripProxy()
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    # django-grip builds its publisher once, from GRIP_PROXIES at import: give it this proxy.
    get_pubcontrol().apply_grip_config([{"control_uri": f"http://127.0.0.1:{proxy.server_port}"}])
    yield proxy
    get_pubcontrol().remove_all_clients()
    proxy.shutdown()
    proxy.server_close()


@pytest.mark.django_db
def test_with_a_grip_proxy_each_users_event_is_also_published_to_it(
    redis_publisher, grip_proxy, django_capture_on_commit_callbacks
):
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"grip-{n}", email=f"grip-{n}@example.com") for n in range(3)
    )
    title = f"Grip {uuid.uuid4()}"
    message = Message(event="helpdesk.ticket.new", title=title, body="Back soon", path="/status/")
    with django_capture_on_commit_callbacks(execute=True):
        notify(message, get_user_model().objects.filter(username__startswith="grip-"), channels=["app"])

    items = grip_proxy.wait_for(len(users))
    assert sorted(item["channel"] for item in items) == sorted(f"events-{channel_for(u.pk)}" for u in users)
    assert all(title in item["http-stream"]["content"] for item in items)
    assert set(received(redis_publisher, title)) == {channel_for(user.pk) for user in users}
