"""What a throttled delivery writes on its row (or digest): the receiver said "too fast", not
"this failed", so no attempt is spent; the row waits what the receiver asked (or a backoff) and
counts the throttle, and only ``NOTIFY_MAX_THROTTLES`` of them end it as failed.
"""

from datetime import timedelta

from spire_notify import conf
from spire_notify.store.models import NotificationStatus
from spire_notify.worker.retry import retry_delay

GIVEN_UP = "Given up: the receiver throttled it {count} times (NOTIFY_MAX_THROTTLES); last reply: {error}"


def throttled_ending(outcome, *, attempts, throttles, now):
    """The fields a throttled ``outcome`` sets after ``attempts`` (the claim counted one) and
    ``throttles`` before this one."""
    throttles += 1
    if throttles >= conf.get("NOTIFY_MAX_THROTTLES"):
        return {
            "status": NotificationStatus.FAILED,
            "throttles": throttles,
            "last_error": GIVEN_UP.format(count=throttles, error=outcome.error),
        }
    # The claim counted an attempt; a throttle is not one, so it is handed back, as a row
    # withheld is: pending if it was the first, else errored as its last attempt left it.
    attempts -= 1
    if outcome.retry_after is not None:
        wait = timedelta(seconds=outcome.retry_after)
    else:
        wait = retry_delay(
            throttles, base=conf.get("NOTIFY_RETRY_BASE_DELAY"), cap=conf.get("NOTIFY_RETRY_MAX_DELAY")
        )
    return {
        "status": NotificationStatus.PENDING if attempts == 0 else NotificationStatus.ERRORED,
        "attempts": attempts,
        "throttles": throttles,
        "last_error": outcome.error,
        "next_attempt_at": now + wait,
    }
