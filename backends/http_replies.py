"""What an HTTP reply's status says about trying again, for every backend that speaks HTTP.

Its own module so that a backend reads it without importing another backend (web push read it
from the webhook backend).
"""

# Replies that say "not now" rather than "never": the request may succeed when retried.
RETRYABLE_STATUSES = {408, 425, 429}


def worth_retrying(status: int) -> bool:
    """Whether a request answered with ``status`` may succeed when sent again: a server error
    or a "try later"; any other refusal gets the same answer again."""
    return status >= 500 or status in RETRYABLE_STATUSES
