"""What an HTTP reply's status says about trying again, for every backend that speaks HTTP.

Its own module so that a backend reads it without importing another backend (web push read it
from the webhook backend).
"""

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Replies that say "not now" rather than "never": the request may succeed when retried.
RETRYABLE_STATUSES = {408, 425, 429}


def worth_retrying(status: int) -> bool:
    """Whether a request answered with ``status`` may succeed when sent again: a server error
    or a "try later"; any other refusal gets the same answer again."""
    return status >= 500 or status in RETRYABLE_STATUSES


# The status of a receiver that says "too many requests": the sender slows down, no attempt spent.
THROTTLING_STATUS = 429


def retry_after_seconds(value, *, now=None):
    """Seconds a ``Retry-After`` header asks to wait: a number of seconds, or an HTTP date (RFC
    9110 §10.2.3). ``None`` for no header or one that says neither, so the caller backs off on
    its own rather than trusting a garbled value; a date already past is 0."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        # An HTTP date is in GMT; a sender that left the zone out means it still.
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())
