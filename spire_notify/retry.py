"""When to try a failed delivery again, and when to give up."""

import random
from datetime import timedelta

from .models import NotificationStatus


def retry_delay(attempts, *, base, cap, rng=random.random):
    """Exponential backoff with "equal jitter": between half and all of ``base * 2**(n-1)``.

    The jitter spreads retries of a batch that failed together (an SMTP outage) so they do
    not all hit the recovered server at the same second; keeping half the delay fixed keeps
    the schedule predictable.
    """
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=ceiling / 2 + rng() * ceiling / 2)


def status_after_failure(*, attempts, max_attempts, permanent):
    if permanent or attempts >= max_attempts:
        return NotificationStatus.FAILED
    return NotificationStatus.ERRORED
