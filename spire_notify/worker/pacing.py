"""The pace a worker keeps on a channel: the backend's ``rate_limit`` shared by every worker
through a pace store (``spire_notify.worker.pace_stores``), and the pause a throttling reply
asks for.

The pacer hands the guard the moment of each hand-off; the guard waits for it (and stays
stoppable). Moments come in blocks taken from the store, evenly spaced at the rate, so that the
store is asked once per block, not once per message: at most ``BLOCK_SECONDS`` of the channel's
rate, and no more than the batch still needs. A channel without a ``rate_limit`` is asked
nothing and costs no query: it only waits out a throttling reply's pause, in this worker.
"""

import logging
import time
from collections import deque

from spire_notify import conf
from spire_notify.backends.rates import parse_rate
from spire_notify.worker.pace_stores import PaceStoreUnavailable, pace_store

logger = logging.getLogger("spire_notify")

# The share of the stated rate the pacer spends. A hand-off reaches the receiver a little
# after its moment (a busy CPU, the network), and one late beside one on time is two in the
# receiver's second: pacing at 90 % keeps a few milliseconds of such jitter under the limit the
# provider counts, where pacing at 100 % overran it in the tests' 1-s windows.
HEADROOM = 0.9
# A block holds at most this much of the channel's rate: enough that the store is asked
# rarely, little enough that what a stopping or throttled worker leaves unused is short.
BLOCK_SECONDS = 2
# A moment the worker missed by more than half an interval is dropped, not used late: used
# late it would land beside another worker's next one, and the receiver would see a burst.
LATE_INTERVALS = 0.5
# How long a throttling reply without a Retry-After pauses the channel, doubled for each one
# in a row, and the longest pause any reply gets: the throttled row itself waits its full
# Retry-After, but one reply must not hold the worker's other channels for long.
FIRST_PAUSE_SECONDS = 1
MAX_PAUSE_SECONDS = 60
# How long the pacer waits before it asks a store it could not reach again.
STORE_RETRY_SECONDS = 1


class Pacer:
    """One channel's pace in this worker: ``rate`` (a ``Rate``, or ``None``) over ``store``."""

    def __init__(self, channel, rate, store):
        self.channel = channel
        self.rate = rate
        self.store = store
        self.interval = rate.interval / HEADROOM if rate is not None else 0.0
        self.moments = deque()  # monotonic times of the hand-offs this worker holds
        self.paused_until = 0.0
        self.throttled_in_a_row = 0

    def next_turn(self, wanted=1):
        """``(when, granted)``: the monotonic time of the next hand-off, and whether it is one
        (``False``: the store could not be reached; wait until ``when`` and ask again).
        ``wanted`` is how many hand-offs the batch still has, the block's upper bound."""
        if self.rate is None:
            return self.paused_until, True
        late = time.monotonic() - LATE_INTERVALS * self.interval
        while self.moments and self.moments[0] < late:
            self.moments.popleft()
        if not self.moments:
            try:
                self._take_block(wanted)
            except PaceStoreUnavailable as error:
                logger.warning("%s: waiting for the pace store: %s", self.channel, error)
                return time.monotonic() + STORE_RETRY_SECONDS, False
        return max(self.moments.popleft(), self.paused_until), True

    def _take_block(self, wanted):
        most = max(1, int(self.rate.count * BLOCK_SECONDS / self.rate.per_seconds))
        count = max(1, min(wanted, most))
        start, store_now = self.store.reserve(self.channel, count, self.interval)
        first = time.monotonic() + (start - store_now)
        self.moments.extend(first + index * self.interval for index in range(count))

    def settled(self, outcome):
        """A throttling reply pauses the channel, for this worker and (through the store) the
        others; the moments this worker held are given up, as they fall in the pause."""
        if not outcome.throttle:
            self.throttled_in_a_row = 0
            return
        self.throttled_in_a_row += 1
        if outcome.retry_after is not None:
            pause = outcome.retry_after
        else:
            pause = FIRST_PAUSE_SECONDS * 2 ** min(self.throttled_in_a_row - 1, 16)
        pause = min(pause, MAX_PAUSE_SECONDS)
        self.paused_until = max(self.paused_until, time.monotonic() + pause)
        self.moments.clear()
        if self.rate is not None:
            try:
                self.store.pause(self.channel, pause)
            except PaceStoreUnavailable as error:
                logger.warning("%s: could not tell the other workers to pause: %s", self.channel, error)


_pacers = {}


def pacer_for(backend, *, using="default"):
    """The pacer of ``backend``'s channel in this process, kept across batches so that the
    moments of a block and a pause outlive the batch that took them."""
    rate = parse_rate(backend.rate_limit) if backend.rate_limit is not None else None
    key = (backend.alias, rate, conf.get("NOTIFY_RATE_LIMIT_STORE") if rate else None, using)
    if key not in _pacers:
        _pacers[key] = Pacer(backend.alias, rate, pace_store(using) if rate else None)
    return _pacers[key]


def forget_pacers():
    """Drop every pacer of this process, with its moments and pauses (tests start afresh)."""
    _pacers.clear()
