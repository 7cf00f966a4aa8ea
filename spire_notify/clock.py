"""The time spire-notify's timing reads: due rows, leases, escalation delays, digest windows.

``now()`` is ``django.utils.timezone.now()`` unless a test moved it. Tests move time with it
instead of sleeping::

    with clock.frozen_at(datetime(2026, 1, 5, 9, tzinfo=UTC)):
        notify(message, {user: ["app", Deferred("email", timedelta(minutes=10))]})
        clock.advance(11 * 60)       # the frozen time moves on by 11 minutes
        process_notifications()

``advance()`` outside ``frozen_at()`` shifts the running clock, which keeps ticking; a worker
subprocess started by a test can be shifted that way at start-up (tests/delivery_settings.py
reads ``SPIRE_DELIVERY_CLOCK_OFFSET``). ``reset()`` undoes every shift.
"""

from contextlib import contextmanager
from datetime import timedelta

from django.utils import timezone

_frozen = None
_offset = timedelta(0)


def now():
    """The current time, aware, as spire-notify's timing sees it."""
    if _frozen is not None:
        return _frozen
    return timezone.now() + _offset


@contextmanager
def frozen_at(moment):
    """Stop the clock at ``moment`` (an aware datetime) inside the ``with`` block."""
    global _frozen
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous


def advance(seconds):
    """Move the clock ``seconds`` forward (a number or a ``timedelta``)."""
    global _frozen, _offset
    delta = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
    if _frozen is not None:
        _frozen += delta
    else:
        _offset += delta


def reset():
    """The real time again, with no shift."""
    global _frozen, _offset
    _frozen, _offset = None, timedelta(0)
