"""The ``connections`` option of every backend: a batch handed over on several connections side
by side, a thread each (``spire_notify.backends.lanes``), while the guard is asked and told in
the calling thread only."""

import contextlib
import threading
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured

from spire_notify.backends import lanes
from spire_notify.backends.base import BaseNotificationBackend, Delivery, Outcome, Rendered, SendGuard
from spire_notify.backends.per_destination import DestinationsBackend


class SideBySideBackend(BaseNotificationBackend):
    """Hands each delivery over on the connection it was given, recording which; the first
    ``together`` hand-overs wait for one another, so they succeed only if they run at once."""

    def __init__(self, *, alias="side", together=1, opens_refused_after=None, raises_on=None, **options):
        super().__init__(alias=alias, **options)
        self.meeting = threading.Barrier(together, timeout=5)
        self.together = together
        self.opens_refused_after = opens_refused_after
        self.raises_on = raises_on
        self.lock = threading.Lock()
        self.opened, self.closed, self.aborted = [], [], []
        self.handed = []  # (notification pk, connection number, thread name)

    def render(self, message, recipient):
        return Rendered(body="b", url="")

    def open(self):
        with self.lock:
            number = len(self.opened)
            if self.opens_refused_after is not None and number >= self.opens_refused_after:
                raise ConnectionRefusedError("421 too many connections from your host")
            self.opened.append(number)
        return number

    def send_one(self, connection, delivery):
        pk = delivery.notification.pk
        if pk == self.raises_on:
            raise ImproperlyConfigured("the mailer's settings changed under the worker")
        with self.lock:
            self.handed.append((pk, connection, threading.current_thread().name))
            first = len(self.handed) <= self.together
        if first and self.together > 1:
            self.meeting.wait()
        return Outcome.success()

    def close(self, connection):
        with self.lock:
            self.closed.append(connection)

    def abort(self, connection):
        with self.lock:
            self.aborted.append(connection)


class RecordingGuard(SendGuard):
    """Withholds from delivery ``withhold_from`` on; records the thread of every question and
    every outcome it is told."""

    def __init__(self, withhold_from=None):
        super().__init__()
        self.withhold_from = withhold_from
        self.threads = set()
        self.settled_pks = []

    def __call__(self, delivery):
        self.threads.add(threading.current_thread().name)
        if self.withhold_from is not None and delivery.notification.pk >= self.withhold_from:
            return "Withheld: the worker was stopping."
        return None

    def settled(self, delivery, outcome):
        self.threads.add(threading.current_thread().name)
        self.settled_pks.append(delivery.notification.pk)


def deliveries(count):
    return [
        Delivery(notification=SimpleNamespace(pk=pk), rendered=Rendered(body="b", url=""))
        for pk in range(1, count + 1)
    ]


def test_a_batch_runs_on_its_connections_side_by_side_and_answers_in_order():
    backend = SideBySideBackend(connections=3, together=3)
    guard = RecordingGuard()
    outcomes = backend.send(deliveries(12), guard=guard)
    # The first three waited for one another: had they run one after the other, each would
    # have failed on the barrier's timeout.
    assert outcomes == [Outcome.success()] * 12
    assert sorted(pk for pk, _, _ in backend.handed) == list(range(1, 13))
    assert {connection for _, connection, _ in backend.handed} == {0, 1, 2}
    assert sorted(backend.closed) == [0, 1, 2]
    assert backend.aborted == []
    # The guard is asked and told in the calling thread only, of every delivery.
    assert guard.threads == {threading.current_thread().name}
    assert sorted(guard.settled_pks) == list(range(1, 13))


def test_no_more_connections_than_hand_overs():
    backend = SideBySideBackend(connections=8)
    assert backend.send(deliveries(2)) == [Outcome.success()] * 2
    assert len(backend.opened) == 2


def test_one_connection_hands_over_in_the_calling_thread():
    backend = SideBySideBackend()
    assert backend.send(deliveries(3)) == [Outcome.success()] * 3
    assert [(pk, thread) for pk, _, thread in backend.handed] == [
        (pk, threading.current_thread().name) for pk in (1, 2, 3)
    ]


def test_what_the_guard_withholds_is_never_handed_over():
    backend = SideBySideBackend(connections=3)
    guard = RecordingGuard(withhold_from=5)
    outcomes = backend.send(deliveries(8), guard=guard)
    assert outcomes[:4] == [Outcome.success()] * 4
    assert outcomes[4:] == [Outcome.not_sent("Withheld: the worker was stopping.")] * 4
    assert sorted(pk for pk, _, _ in backend.handed) == [1, 2, 3, 4]
    assert sorted(guard.settled_pks) == [1, 2, 3, 4]


def test_a_connection_that_cannot_be_opened_leaves_the_batch_to_the_others():
    # A relay at its limit of connections answers 421 to the extra ones.
    backend = SideBySideBackend(connections=4, opens_refused_after=2)
    assert backend.send(deliveries(10)) == [Outcome.success()] * 10
    assert {connection for _, connection, _ in backend.handed} <= {0, 1}
    assert sorted(backend.closed) == [0, 1]


def test_a_configuration_error_in_a_lane_stops_the_batch_and_drops_every_connection():
    before = threading.active_count()
    backend = SideBySideBackend(connections=3, raises_on=4)
    with pytest.raises(ImproperlyConfigured, match="settings changed"):
        backend.send(deliveries(30))
    assert 4 not in [pk for pk, _, _ in backend.handed]
    assert len(backend.handed) < 29
    assert sorted(set(backend.aborted)) == sorted(backend.opened)
    assert threading.active_count() == before


class StuckBackend(SideBySideBackend):
    """Every hand-over blocks until released, and abort() cannot wake it: a peer that never
    answers, over a transport whose blocked read nothing but its timeout ends."""

    def __init__(self, **options):
        super().__init__(**options)
        self.release = threading.Event()
        self.stuck = threading.Semaphore(0)

    def send_one(self, connection, delivery):
        self.stuck.release()
        self.release.wait(timeout=30)
        return Outcome.success()


class StopInTheLoop(SendGuard):
    """Raises in the calling thread, as the worker's stop does once its grace has run out, when
    asked about the fourth delivery, once the three lanes are stuck."""

    def __init__(self, backend):
        super().__init__()
        self.backend = backend

    def __call__(self, delivery):
        if delivery.notification.pk == 4:
            for _ in range(3):
                assert self.backend.stuck.acquire(timeout=5)
            raise KeyboardInterrupt("the grace period ran out")
        return None


def test_a_stop_does_not_wait_for_lanes_stuck_on_a_peer_that_never_answers(monkeypatch):
    monkeypatch.setattr(lanes, "ABORT_WAIT_SECONDS", 0.2)
    backend = StuckBackend(connections=3)
    stopped = threading.Event()

    def send():
        with contextlib.suppress(KeyboardInterrupt):
            backend.send(deliveries(6), guard=StopInTheLoop(backend))
        stopped.set()

    threading.Thread(target=send, daemon=True).start()
    try:
        # Without a bound, the stop would wait for the stuck lanes' own 30 s.
        assert stopped.wait(timeout=5), "the stop waited for the stuck connections"
        assert sorted(backend.aborted) == [0, 1, 2]
    finally:
        backend.release.set()


@pytest.mark.parametrize("value", [0, -2, "4", 2.5, True, None])
def test_connections_must_be_a_whole_number_of_at_least_one(value):
    [error] = SideBySideBackend(connections=value).option_errors()
    assert error.id == "spire_notify.E024"
    assert "NOTIFY_BACKENDS['side']: 'connections' must be a whole number" in error.msg
    with pytest.raises(ImproperlyConfigured, match="E024"):
        SideBySideBackend(connections=value).validate()


def test_a_backend_that_sends_to_destinations_takes_one_connection():
    class Browsers(DestinationsBackend):
        pass

    [error] = Browsers(alias="push", connections=2).option_errors()
    assert error.id == "spire_notify.E025"
    assert Browsers(alias="push").option_errors() == []
