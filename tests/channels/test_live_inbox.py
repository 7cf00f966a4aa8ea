"""The live inbox's event stream, read over a real socket from uvicorn serving the project's
ASGI application: each event arrives within a second of the commit that caused it."""

import http.client
import json
import threading
import time

from spire_notify import Message, notify
from spire_notify.channels.live.checks import check_live_updates
from spire_notify.channels.live.events import publish

TICKET = Message(
    event="helpdesk.ticket.new",
    title="New Help Desk Ticket #7",
    body="Priority: High - Purpose: App",
    path="/help_desk/page/7/detail/",
    priority="High",
)


class EventStream:
    """A signed-in user's stream, read event by event."""

    def __init__(self, server, session_cookie, timeout=10):
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
        self.connection.request(
            "GET",
            "/notifications/live/",
            headers={"Cookie": f"sessionid={session_cookie}", "Accept": "text/event-stream"},
        )
        self.response = self.connection.getresponse()

    def next_event(self):
        name, data = None, []
        while True:
            line = self.response.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data.append(line.removeprefix("data: "))
            elif line == "" and name:
                return name, json.loads("\n".join(data)) if data and data != [""] else None

    def wait_for(self, wanted):
        while True:
            name, data = self.next_event()
            if name == wanted:
                return data

    def wait_until_listening(self, user):
        """Until its first event arrives, a new stream drops what is published to it (django-eventstream
        re-reads its storage instead, and there is none): publish pings until one arrives."""
        arrived = threading.Event()

        def ping():
            while not arrived.wait(0.05):
                publish(user.pk, "ping", None)

        pinger = threading.Thread(target=ping)
        pinger.start()
        try:
            self.wait_for("ping")
        finally:
            arrived.set()
            pinger.join()

    def close(self):
        self.connection.close()


def signed_in_stream(server, client, user):
    client.force_login(user)
    stream = EventStream(server, client.cookies["sessionid"].value)
    assert stream.response.status == 200
    assert stream.response.getheader("Content-Type") == "text/event-stream"
    stream.wait_for("stream-open")
    stream.wait_until_listening(user)
    return stream


def test_a_new_notification_and_reading_it_reach_the_stream_within_a_second(
    live_server_asgi, client, make_user
):
    developer = make_user("dev")
    stream = signed_in_stream(live_server_asgi, client, developer)
    try:
        committed = time.monotonic()
        [notification] = notify(TICKET, {developer: ["app"]})  # autocommit: this is the commit
        data = stream.wait_for("notifications")
        assert time.monotonic() - committed < 1
        assert data == {
            "unread": 1,
            "notifications": [
                {
                    "id": notification.pk,
                    "title": "New Help Desk Ticket #7",
                    "body": "Priority: High - Purpose: App",
                    "priority": "High",
                    "created_at": notification.created_at.isoformat(),
                }
            ],
        }

        read = time.monotonic()
        assert client.post(f"/notifications/{notification.pk}/read/").status_code == 302
        assert stream.wait_for("read") == {"unread": 0, "read": [notification.pk]}
        assert time.monotonic() - read < 1
    finally:
        stream.close()


def test_each_user_hears_only_their_own_channel(live_server_asgi, client, make_user):
    developer, manager = make_user("dev"), make_user("manager")
    stream = signed_in_stream(live_server_asgi, client, manager)
    try:
        notify(TICKET, {developer: ["app"]})
        notify(Message(event="e", title="For the manager"), {manager: ["app"]})
        data = stream.wait_for("notifications")
        assert [item["title"] for item in data["notifications"]] == ["For the manager"]
    finally:
        stream.close()


def test_the_stream_is_for_signed_in_users_and_off_unless_enabled(
    live_server_asgi, client, make_user, settings
):
    connection = http.client.HTTPConnection("127.0.0.1", live_server_asgi.port, timeout=5)
    connection.request("GET", "/notifications/live/")
    assert connection.getresponse().status == 302  # to the login page
    connection.close()

    settings.NOTIFY_LIVE_UPDATES = False
    client.force_login(make_user("dev"))
    response = client.get("/notifications/live/")
    # The stream's own "stop" (live.js then polls): a 404 would read as a broken server.
    assert (response.status_code, response["Content-Type"]) == (200, "text/event-stream")
    assert response.content.decode().startswith("event: stream-error\n")


def test_the_check_names_a_missing_library(settings, monkeypatch):
    settings.NOTIFY_LIVE_UPDATES = True
    assert check_live_updates() == []
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    [error] = check_live_updates()
    assert (error.id, error.hint) == (
        "spire_notify.E070",
        "pip install 'spire-notify[live]', or set NOTIFY_LIVE_UPDATES = False to poll.",
    )
