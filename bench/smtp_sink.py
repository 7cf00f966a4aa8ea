"""A local SMTP server that accepts and discards every message: ``python -m bench.smtp_sink``.

It runs in its own process so that parsing SMTP does not take the GIL from the worker being
measured (``SinkProcess`` starts it). It prints its port on the first line of stdout, then
serves until stdin closes. It advertises ``PIPELINING``, as Postfix, Exim and the large relays
do; ``BENCH_SINK_PIPELINING=0`` turns that off, to measure a server without it.
"""

import os
import socket
import subprocess
import sys

from aiosmtpd.controller import Controller


class DiscardingHandler:
    def __init__(self, pipelining):
        self.pipelining = pipelining

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses[:-1] + ["250-PIPELINING"] * self.pipelining + responses[-1:]

    async def handle_DATA(self, server, session, envelope):
        return "250 Message accepted"


class ServerProcess:
    """``python -m <module> <arguments>`` in a process of its own, for the length of a ``with``:
    a bench server that prints its port on its first line and stops when its stdin closes."""

    module = "bench.smtp_sink"

    def __init__(self, *arguments):
        self.arguments = [str(argument) for argument in arguments]

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self.process.stdout.readline())
        return self

    def __exit__(self, *exc_info):
        self.process.stdin.close()
        self.process.wait(timeout=30)


class SinkProcess(ServerProcess):
    """The SMTP sink in a process of its own."""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_until_stdin_closes(handler):
    """Serve ``handler`` on a free port of 127.0.0.1, print the port, and stop once the process
    that started this one closes its stdin (or ends)."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    print(controller.port, flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


def main():
    # The default 32 MiB line limit is fine; a larger data limit keeps 5 KB emails unchunked.
    pipelining = os.environ.get("BENCH_SINK_PIPELINING", "1") != "0"
    serve_until_stdin_closes(DiscardingHandler(pipelining))


if __name__ == "__main__":
    main()
