"""The bench's relay (``bench/relay.py``) delays each direction without serialising the delays.

Real sockets on 127.0.0.1: an echo server behind the relay. The bounds are loose on purpose (a
shared machine), but they tell a delaying proxy from a serialising one by a factor of ten.
"""

import socket
import threading
import time

import pytest

from bench.relay import Relay

ONE_WAY = 0.05


@pytest.fixture
def echo_port():
    """An echo server on 127.0.0.1: every byte read is written back, until the client closes."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                while data := connection.recv(65536):
                    connection.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    server.close()


def receive(client, size):
    received = b""
    while len(received) < size:
        chunk = client.recv(65536)
        assert chunk, f"the relay closed after {len(received)} of {size} bytes"
        received += chunk
    return received


@pytest.mark.timeout(30)
def test_a_round_trip_through_the_relay_costs_twice_the_one_way_delay(echo_port):
    with Relay(echo_port, one_way=ONE_WAY) as relay:
        with socket.create_connection(("127.0.0.1", relay.port)) as client:
            for _ in range(3):
                start = time.perf_counter()
                client.sendall(b"EHLO relay\r\n")
                assert receive(client, 12) == b"EHLO relay\r\n"
                assert time.perf_counter() - start >= 2 * ONE_WAY


@pytest.mark.timeout(30)
def test_pipelined_writes_are_delayed_side_by_side_and_arrive_in_order(echo_port):
    lines = [f"RCPT TO:<user-{index}@example.com>\r\n".encode() for index in range(50)]
    with Relay(echo_port, one_way=ONE_WAY) as relay:
        with socket.create_connection(("127.0.0.1", relay.port)) as client:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            start = time.perf_counter()
            for line in lines:
                client.sendall(line)
                time.sleep(0.001)  # separate chunks, each with its own delay
            echoed = receive(client, sum(map(len, lines)))
            elapsed = time.perf_counter() - start
    assert echoed == b"".join(lines)
    assert elapsed >= 2 * ONE_WAY
    # Serialised delays would take 50 × 2 × one_way (5 s); side by side, about 2 × one_way + 50 ms.
    assert elapsed < 10 * ONE_WAY, elapsed


@pytest.mark.timeout(30)
def test_the_relay_closes_the_client_when_the_server_closes():
    server = socket.create_server(("127.0.0.1", 0))
    with Relay(server.getsockname()[1], one_way=ONE_WAY) as relay:
        with socket.create_connection(("127.0.0.1", relay.port)) as client:
            accepted, _ = server.accept()
            accepted.sendall(b"421 closing\r\n")
            accepted.close()
            assert receive(client, 13) == b"421 closing\r\n"
            client.settimeout(5)
            assert client.recv(100) == b""
    server.close()
