"""``Outcome.throttled``: a receiver's "too fast", which carries how long it asked us to wait."""

import pytest

from spire_notify.backends.base import Outcome, OutcomeStatus


def test_a_throttled_outcome_carries_its_reply_and_what_it_asked_to_wait():
    outcome = Outcome.throttled("HTTP 429 Too Many Requests", retry_after=30)
    assert (outcome.status, outcome.error, outcome.retry_after) == (
        OutcomeStatus.THROTTLED,
        "HTTP 429 Too Many Requests",
        30,
    )
    assert outcome.throttle and not (outcome.sent or outcome.permanent or outcome.withheld or outcome.skip)
    assert Outcome.throttled("421 slow down").retry_after is None


def test_only_a_throttled_outcome_has_a_wait_and_the_wait_is_not_negative():
    with pytest.raises(ValueError, match="only a throttled Outcome carries retry_after, not a temporary one"):
        Outcome(OutcomeStatus.TEMPORARY, "451 busy", retry_after=5)
    with pytest.raises(ValueError, match="retry_after is a number of seconds to wait, not -1"):
        Outcome.throttled("429", retry_after=-1)
    with pytest.raises(ValueError, match="a throttled Outcome needs an error that says why"):
        Outcome.throttled("")
