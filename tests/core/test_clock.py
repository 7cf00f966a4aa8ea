"""spire_notify.clock: the time the timing code reads, and the helpers tests move it with."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from spire_notify import clock


@pytest.fixture(autouse=True)
def _real_time_after():
    yield
    clock.reset()


def test_now_is_django_now_unless_moved():
    before = timezone.now()
    assert before <= clock.now() <= timezone.now()


def test_frozen_at_stops_the_clock_and_advance_moves_it_on():
    moment = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with clock.frozen_at(moment):
        assert clock.now() == moment
        clock.advance(90)
        assert clock.now() == moment + timedelta(seconds=90)
        clock.advance(timedelta(hours=1))
        assert clock.now() == moment + timedelta(hours=1, seconds=90)
    assert abs(clock.now() - timezone.now()) < timedelta(seconds=5)


def test_advance_outside_frozen_shifts_the_running_clock_until_reset():
    clock.advance(timedelta(days=1))
    assert timedelta(hours=23) < clock.now() - timezone.now() <= timedelta(days=1)
    clock.reset()
    assert abs(clock.now() - timezone.now()) < timedelta(seconds=5)


def test_frozen_at_restores_the_outer_frozen_time():
    outer, inner = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    with clock.frozen_at(outer):
        with clock.frozen_at(inner):
            assert clock.now() == inner
        assert clock.now() == outer
