"""Timing, query counting and the rows of the results table."""

import statistics
import threading
import time
from dataclasses import asdict, dataclass

from django.db import connection
from django.test.utils import CaptureQueriesContext


class Stopwatch:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self.start


def count_queries(function):
    """``(result, number of SQL queries)`` of calling ``function``."""
    with CaptureQueriesContext(connection) as queries:
        result = function()
    return result, len(queries)


def median(values):
    return statistics.median(values)


class TimeAccumulator:
    """Wraps a callable and sums the time spent in it (to exclude rendering from P3)."""

    def __init__(self, function):
        self.function = function
        self.seconds = 0.0
        # The email channel hands over on several connections, a thread each.
        self.lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            with self.lock:
                self.seconds += elapsed


@dataclass
class Row:
    """One line of the table: ours against its baseline, and the target it is held to."""

    id: str
    what: str
    ours: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None
    values: dict | None = None  # the raw numbers, for the JSON output and the smoke test

    def as_dict(self):
        return asdict(self)


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"
