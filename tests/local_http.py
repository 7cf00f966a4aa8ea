"""A real HTTP server on 127.0.0.1 that records what it receives and answers as told: the far
end of the chat and push channels in their tests."""

import socket
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
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_POST = do_PUT = do_GET = _handle

    def log_message(self, format, *args):
        pass


@dataclass
class RecordingServer:
    """``replies`` maps a path prefix to its ``Reply``; any other path gets 200."""

    received: list = field(default_factory=list)
    replies: dict = field(default_factory=dict)

    def __post_init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
        self.httpd.daemon_threads = True
        self.httpd.received = self.received
        self.httpd.reply_for = self.reply_for
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def origin(self):
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def reply_for(self, path):
        return next((reply for prefix, reply in self.replies.items() if path.startswith(prefix)), Reply())

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
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
