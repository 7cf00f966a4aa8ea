"""The backoff schedule and the retry decision, property-tested."""

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from spire_notify.models import NotificationStatus
from spire_notify.worker.retry import retry_delay, status_after_failure

attempts = st.integers(min_value=1, max_value=10_000)
bases = st.floats(min_value=0, max_value=24 * 3600)
caps = st.floats(min_value=0, max_value=7 * 24 * 3600)
draws = st.floats(min_value=0, max_value=1)


def test_the_default_schedule_doubles_from_half_a_minute():
    lowest = [retry_delay(n, base=60, cap=6 * 3600, rng=lambda: 0) for n in range(1, 11)]
    highest = [retry_delay(n, base=60, cap=6 * 3600, rng=lambda: 1) for n in range(1, 11)]
    assert [delay.total_seconds() for delay in lowest] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3840,
        7680,
        10800,
    ]
    assert [delay.total_seconds() for delay in highest] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        3840,
        7680,
        15360,
        21600,
    ]


@given(attempts, bases, caps, draws)
def test_delay_is_between_half_and_all_of_the_capped_exponential(n, base, cap, draw):
    ceiling = min(cap, base * 2 ** min(n - 1, 40))
    delay = retry_delay(n, base=base, cap=cap, rng=lambda: draw).total_seconds()
    assert ceiling / 2 - 1e-6 <= delay <= ceiling + 1e-6
    assert delay <= cap + 1e-6


@given(attempts, bases, caps, draws)
def test_a_later_attempt_never_waits_less_for_the_same_draw(n, base, cap, draw):
    def delay(k):
        return retry_delay(k, base=base, cap=cap, rng=lambda: draw)

    assert delay(n + 1) >= delay(n) - timedelta(microseconds=1)


@given(attempts, st.integers(min_value=1, max_value=100), st.booleans())
def test_a_failure_is_final_when_permanent_or_on_the_last_attempt(n, max_attempts, permanent):
    status = status_after_failure(attempts=n, max_attempts=max_attempts, permanent=permanent)
    final = permanent or n >= max_attempts
    assert status == (NotificationStatus.FAILED if final else NotificationStatus.ERRORED)
