"""A delaying TCP proxy: a relay in another zone, ``python -m bench.relay <target port> [one_way]``.

It listens on 127.0.0.1 and forwards every connection to ``127.0.0.1:<target port>`` (the SMTP
sink), holding each chunk read for ``one_way`` seconds (12.5 ms by default) before writing it
on, in each direction: a round trip through it costs ``2 × one_way``, 25 ms by default. The
delays are not serialised: a chunk read at ``t`` is written at ``t + one_way`` however many are
in flight, and the order of the chunks is kept. Each direction buffers at most ``MAX_CHUNKS``
chunks of at most ``CHUNK`` bytes; a full buffer stops reading from that side until it drains.
When one side closes, the proxy passes on what it read from that side, then closes both.

``Relay`` runs it on an event loop in a thread (for tests); ``RelayProcess`` in a process of its
own (for the bench, so that the proxy takes no GIL from the sender being measured), which prints
its port on the first line of stdout and serves until stdin closes.
"""

import asyncio
import sys
import threading

from .smtp_sink import ServerProcess

ONE_WAY = 0.0125
CHUNK = 64 * 1024
MAX_CHUNKS = 64


async def _pump(reader, writer, one_way):
    """Copy ``reader`` to ``writer``, each chunk ``one_way`` seconds after it was read."""
    loop = asyncio.get_running_loop()
    held = asyncio.Queue(MAX_CHUNKS)

    async def read():
        try:
            while chunk := await reader.read(CHUNK):
                await held.put((loop.time() + one_way, chunk))
        except OSError:
            pass
        await held.put((loop.time() + one_way, b""))

    async def write():
        while True:
            due, chunk = await held.get()
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if not chunk:
                return
            writer.write(chunk)
            await writer.drain()

    reading = asyncio.create_task(read())
    try:
        await write()
    except OSError:
        pass
    finally:
        reading.cancel()


def _close(writer):
    if not writer.is_closing():
        writer.close()


async def _serve(target_port, one_way, started):
    async def connect(client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            _close(client_writer)
            return
        pumps = [
            asyncio.create_task(_pump(client_reader, upstream_writer, one_way)),
            asyncio.create_task(_pump(upstream_reader, client_writer, one_way)),
        ]
        # The first side to close ends the connection: both sides are closed.
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        _close(upstream_writer)
        _close(client_writer)

    server = await asyncio.start_server(connect, "127.0.0.1", 0)
    started(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


class Relay:
    """The proxy on an event loop in a daemon thread, for the length of a ``with``."""

    def __init__(self, target_port, one_way=ONE_WAY):
        self.target_port, self.one_way = target_port, one_way

    def __enter__(self):
        ready = threading.Event()
        self.loop = asyncio.new_event_loop()

        def started(port):
            self.port = port
            ready.set()

        def run():
            self.serving = self.loop.create_task(_serve(self.target_port, self.one_way, started))
            try:
                self.loop.run_until_complete(self.serving)
            except asyncio.CancelledError:
                pass

        self.thread = threading.Thread(target=run, name="bench-relay", daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise RuntimeError("the relay did not start within 10 s")
        return self

    def __exit__(self, *exc_info):
        self.loop.call_soon_threadsafe(self.serving.cancel)
        self.thread.join(10)


class RelayProcess(ServerProcess):
    """``python -m bench.relay`` in a process of its own, for the length of a ``with``."""

    module = "bench.relay"

    def __init__(self, target_port, one_way=ONE_WAY):
        super().__init__(target_port, one_way)


def main():
    target_port = int(sys.argv[1])
    one_way = float(sys.argv[2]) if len(sys.argv) > 2 else ONE_WAY
    with Relay(target_port, one_way) as relay:
        print(relay.port, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
