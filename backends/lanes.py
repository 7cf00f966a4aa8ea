"""Where the send loop's hand-overs run: on the loop's own connection (``InlineLane``), or spread
over several connections of one backend, a thread each (``ParallelLanes``, the ``connections``
option).

Against a relay 25 ms away, an email costs two round trips whatever the machine, so one
connection sends about 20 a second; several connections side by side send that many each. The
loop itself stays where it was: it asks the guard before each hand-off, in its own thread (the
worker's claim is renewed there, on its own database connection), and writes nothing the lanes
do not tell it. A lane only hands over what it is given, over a connection of its own, and says
what came of it: no database, no guard. The queue between them holds one hand-over per lane, so
what the guard cleared is handed over within about one message's time of being cleared.
"""

import contextlib
import logging
import queue
import threading
import time

from spire_notify.backends.outcomes import always_send

logger = logging.getLogger("spire_notify")

# How often a loop waiting for a free lane looks at what the lanes finished, so that a
# throttling reply slows the next hand-off down while the lanes are still busy.
POLL_SECONDS = 0.05
# How long a batch that is aborted waits for its lanes to end once their connections are dropped.
ABORT_WAIT_SECONDS = 2
# The sentinel that tells a lane there is nothing more to hand over.
NO_MORE = None


class InlineLane:
    """One connection, in the loop's own thread: each hand-over runs as it is given."""

    def __init__(self, backend, connection, *, guard, batch):
        self.backend = backend
        self.connection = connection
        self.guard = guard
        self.batch = batch
        self.done = []

    def hand_over(self, key, indexes, deliveries):
        outcome, self.connection = self.backend.hand_over_unit(
            self.connection, key, deliveries, guard=self.guard, batch=self.batch
        )
        self.done.append((indexes, outcome))

    def finished(self):
        """``[(indexes, outcome)]`` of the hand-overs that ended since it was last asked."""
        done, self.done = self.done, []
        return done

    def wait_for_idle(self):
        """The one connection is free whenever the loop runs."""

    def close(self):
        """Close the connection, once every hand-over ended; the rest of ``finished()``."""
        self.backend.close(self.connection)
        return self.finished()

    def abort(self):
        self.backend.abort(self.connection)


class ParallelLanes:
    """``width`` connections of ``backend``, each in a thread of its own; ``connection`` (opened
    by the loop, so that a relay out of reach fails the batch as before) is the first.

    A lane whose own connection cannot be opened (a relay at its limit of connections answers
    421 to the extra ones) takes no hand-over: the others carry the batch.
    """

    def __init__(self, backend, connection, width, *, batch):
        self.backend = backend
        self.batch = batch
        self.work = queue.Queue(maxsize=width)
        self.done = queue.Queue()
        self.aborted = threading.Event()
        self.ended = []
        # Lanes waiting for work; a paced loop clears a hand-over only once one is.
        self.idle = 0
        self.became_idle = threading.Condition()
        self.lanes = [_Lane(self, connection)] + [_Lane(self, None) for _ in range(width - 1)]
        for lane in self.lanes:
            lane.start()

    def hand_over(self, key, indexes, deliveries):
        """Queue one hand-over; waits while every lane is busy and one is already queued."""
        while True:
            try:
                self.work.put((key, indexes, deliveries), timeout=POLL_SECONDS)
                return
            except queue.Full:
                self._collect()
                if not any(lane.is_alive() for lane in self.lanes):
                    raise RuntimeError("every connection of the batch ended before its hand-overs") from None

    def wait_for_idle(self):
        """Wait until a lane waits for work, so that what the guard clears next leaves at once.

        A paced loop asks it before the guard: a hand-over cleared at its moment and queued
        behind busy lanes would leave late, beside the next one on time, and the receiver
        would count both in one second (the queue let four leave at once after a stall)."""
        while True:
            with self.became_idle:
                if self.idle > self.work.qsize():
                    return
                self.became_idle.wait(timeout=POLL_SECONDS)
            self._collect()
            if not any(lane.is_alive() for lane in self.lanes):
                raise RuntimeError("every connection of the batch ended before its hand-overs")

    def finished(self):
        """``[(indexes, outcome)]`` of the hand-overs that ended since it was last asked; raises
        what a lane raised that is not a delivery's outcome (a configuration error)."""
        self._collect()
        ended, self.ended = self.ended, []
        return ended

    def close(self):
        """Let every lane finish what it was given and close its connection; the rest of
        ``finished()``."""
        for _ in self.lanes:
            self._put_when_taken(NO_MORE)
        for lane in self.lanes:
            lane.join()
        return self.finished()

    def abort(self):
        """Drop every connection at once (the lanes' hand-overs in progress fail with it) and
        wait a moment for the lanes to end.

        A lane blocked on a peer that ``backend.abort()`` could not wake is left behind (its
        thread is a daemon): a stop that has outlived its grace must not wait for a timeout.
        """
        self.aborted.set()
        for lane in self.lanes:
            if lane.connection is not None:
                self.backend.abort(lane.connection)
        # Only this thread queues work: once what is queued is dropped, there is room for
        # every lane's NO_MORE.
        with contextlib.suppress(queue.Empty):
            while True:
                self.work.get_nowait()
        for _ in self.lanes:
            self.work.put_nowait(NO_MORE)
        deadline = time.monotonic() + ABORT_WAIT_SECONDS
        for lane in self.lanes:
            lane.join(timeout=max(0.0, deadline - time.monotonic()))
        if any(lane.is_alive() for lane in self.lanes):
            logger.warning(
                "%s: a connection did not end within %s s of being dropped; leaving it behind.",
                self.backend,
                ABORT_WAIT_SECONDS,
            )

    def _put_when_taken(self, item):
        """Queue ``item`` once there is room, or give up once no lane is left to take it."""
        while any(lane.is_alive() for lane in self.lanes):
            try:
                self.work.put(item, timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue

    def _collect(self):
        while True:
            try:
                indexes, outcome = self.done.get_nowait()
            except queue.Empty:
                return
            if isinstance(outcome, BaseException):
                raise outcome
            self.ended.append((indexes, outcome))


class _Lane(threading.Thread):
    def __init__(self, lanes, connection):
        super().__init__(name=f"spire-notify {lanes.backend.alias} connection", daemon=True)
        self.lanes = lanes
        self.connection = connection

    def run(self):
        backend = self.lanes.backend
        if self.connection is None:
            try:
                self.connection = backend.open()
            except Exception as error:
                logger.info(
                    "%s: one more connection could not be opened (%s); sending over fewer.", backend, error
                )
                return
        while (item := self._next()) is not NO_MORE:
            if self.lanes.aborted.is_set():
                continue
            key, indexes, deliveries = item
            try:
                # The loop cleared these already, in its own thread: a lane asks no guard.
                outcome, self.connection = backend.hand_over_unit(
                    self.connection, key, deliveries, guard=always_send, batch=self.lanes.batch
                )
            except BaseException as error:
                self.lanes.done.put((indexes, error))
                return
            self.lanes.done.put((indexes, outcome))
        # A hand-over under way when the batch was aborted may have opened a new connection.
        (backend.abort if self.lanes.aborted.is_set() else backend.close)(self.connection)

    def _next(self):
        """The next item of work, counted idle while it waits for it."""
        with self.lanes.became_idle:
            self.lanes.idle += 1
            self.lanes.became_idle.notify_all()
        try:
            return self.lanes.work.get()
        finally:
            with self.lanes.became_idle:
                self.lanes.idle -= 1
