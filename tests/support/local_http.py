"""Real HTTP servers on 127.0.0.1 for the channels' tests.

- ``RecordingServer`` records what it receives and answers as told: the far end of the chat and
  push channels.
- ``DrippingServer`` answers with bytes scripted to the letter (any framing: ``Content-Length``,
  chunked, close-delimited, HTTP/1.0) and writes them a byte at a time, as a slow or hostile
  receiver does: the far end of the webhook's deadline tests.
- ``SilentServer`` accepts every connection and never answers: the push service or chat
  endpoint that hangs, in the tests of a row's deadline.
"""

import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict  # names in lower case
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    delay: float = 0.0
    headers: dict = field(default_factory=dict)  # a redirect's Location, say


class RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.server.received.append(
            Received(
                self.command, self.path, {name.lower(): value for name, value in self.headers.items()}, body
            )
        )
        reply = self.server.reply_for(self.path)
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_POST = do_PUT = do_GET = do_DELETE = _handle

    def log_message(self, format, *args):
        pass


@dataclass
class RecordingServer:
    """``replies`` maps a path prefix to its ``Reply``; any other path gets 200. ``host`` is any
    address of the loopback network (127.0.0.2 stands for a second machine)."""

    received: list = field(default_factory=list)
    replies: dict = field(default_factory=dict)
    host: str = "127.0.0.1"

    def __post_init__(self):
        self.httpd = ThreadingHTTPServer((self.host, 0), RecordingHandler)
        self.httpd.daemon_threads = True
        self.httpd.received = self.received
        self.httpd.reply_for = self.reply_for
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def origin(self):
        return f"{self.host}:{self.httpd.server_address[1]}"

    def reply_for(self, path):
        return next((reply for prefix, reply in self.replies.items() if path.startswith(prefix)), Reply())

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@dataclass(frozen=True)
class DrippedReply:
    """A reply as raw bytes. ``head`` (status line and headers) is written at once unless
    ``drip_head``; ``body`` always a byte every ``interval`` seconds. ``close`` ends the
    connection after the body, as a close-delimited reply must."""

    head: bytes
    body: bytes
    drip_head: bool = False
    close: bool = False
    interval: float = 0.1


class DrippingHandler(socketserver.StreamRequestHandler):
    timeout = 30

    def handle(self):
        if not self.read_request():
            return
        reply = self.server.reply
        self.server.answered.set()
        try:
            self.write(reply.head, reply.interval if reply.drip_head else 0)
            self.write(reply.body, reply.interval)
        except OSError:
            return  # the client gave up and shut its socket: what the deadline tests wait for
        if reply.close:
            self.connection.shutdown(socket.SHUT_WR)

    def read_request(self):
        """Reads one request's head and ``Content-Length`` body; ``False`` once the client left."""
        length = 0
        while (line := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if not line:
            return False
        self.rfile.read(length)
        return True

    def write(self, data, interval):
        """Writes ``data`` at once, or a byte every ``interval`` seconds until the server stops."""
        if not interval:
            self.wfile.write(data)
            return
        for index in range(len(data)):
            if self.server.stopping.wait(interval):
                return
            self.wfile.write(data[index : index + 1])


class DrippingServer:
    """Answers every request with ``reply``; ``answered`` is set once a request was read."""

    def __init__(self, reply):
        self.httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), DrippingHandler)
        self.httpd.daemon_threads = True
        self.httpd.reply = reply
        self.httpd.answered = self.answered = threading.Event()
        self.httpd.stopping = threading.Event()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers: the push
    service or chat endpoint that hangs. ``connections`` counts what reached it."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.held = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def origin(self):
        return f"127.0.0.1:{self.port}"

    @property
    def connections(self):
        return len(self.held)

    def _accept(self):
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.held.append(connection)  # kept open, never read, never answered

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=5)
        for connection in self.held:
            connection.close()
        self.listener.close()
