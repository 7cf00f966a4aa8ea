"""When to try a failed delivery again, and when to give up."""

import random
from datetime import timedelta

from spire_notify.models import NotificationStatus

# 2**40 base delays is beyond any cap; stopping the exponent there keeps the arithmetic in
# floats however many attempts a configuration allows.
MAX_EXPONENT = 40


def retry_delay(attempts, *, base, cap, rng=random.random):
    """Exponential backoff with "equal jitter": between half and all of ``base * 2**(n-1)``.

    ``attempts`` counts the attempts made so far, the one that just failed included. The
    jitter spreads retries of a batch that failed together (an SMTP outage) so they do not all
    hit the recovered server at the same second; keeping half the delay fixed keeps the
    schedule predictable. No delay exceeds ``cap``.
    """
    ceiling = min(cap, base * 2 ** min(max(attempts - 1, 0), MAX_EXPONENT))
    return timedelta(seconds=ceiling / 2 + rng() * ceiling / 2)


def status_after_failure(*, attempts, max_attempts, permanent):
    """``failed`` for a permanent error or the last attempt, else ``errored`` (retried)."""
    if permanent or attempts >= max_attempts:
        return NotificationStatus.FAILED
    return NotificationStatus.ERRORED
