"""The project's ASGI application served by uvicorn on 127.0.0.1: what the live inbox's event
streams need (a WSGI live server cannot hold a stream open while it serves other requests).

``AsgiLiveServer`` runs it in a thread of the test process, with the test's settings, and serves
static files too, as runserver would. ``UvicornProcess`` runs it as production does, in a
process of its own with its own settings (tests/live_settings.py), for what only a separate
process shows: the database connections it holds, with or without Django's connection pool.
"""

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import uvicorn
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application


class AsgiLiveServer:
    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            ASGIStaticFilesHandler(get_asgi_application()),
            lifespan="off",
            log_level="warning",
            # Event streams never end by themselves: shutting down does not wait for them.
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


class UvicornProcess:
    """``uvicorn`` serving the project in a subprocess, on a port it picks; ``env`` adds
    environment variables (``DJANGO_SETTINGS_MODULE`` among them). What it logs is kept in
    ``log``, read as it comes so that a full pipe never blocks the server."""

    STARTED = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")

    def __init__(self, env):
        root = Path(__file__).resolve().parents[2]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "django.core.asgi:get_asgi_application"]
            + ["--host", "127.0.0.1", "--port", "0", "--lifespan", "off", "--no-access-log"]
            + ["--timeout-graceful-shutdown", "1"],
            env={**os.environ, "PYTHONPATH": str(root), **env},
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log = []
        self.reader = threading.Thread(target=self._read_log, daemon=True)

    def _read_log(self):
        for line in self.process.stderr:
            self.log.append(line)

    def __enter__(self):
        self.reader.start()
        deadline = time.monotonic() + 20
        while not (started := self.STARTED.search("".join(self.log))):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.process.kill()
                raise RuntimeError("uvicorn did not start:\n" + "".join(self.log))
            time.sleep(0.05)
        self.port = int(started.group(1))
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.reader.join(timeout=10)
