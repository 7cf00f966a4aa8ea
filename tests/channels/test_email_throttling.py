"""Which SMTP replies are throttling (the row waits, no attempt spent) and which are the
message's own temporary or permanent failures."""

import smtplib

import pytest

from spire_notify.backends.base import Outcome
from spire_notify.channels.email.backend import classify_send_error
from spire_notify.channels.email.throttling import is_throttling


@pytest.mark.parametrize(
    ("code", "text", "throttling"),
    [
        (421, "4.7.0 Try again later, closing connection", True),
        (421, "", True),
        (451, "4.7.0 Rate limit exceeded", True),
        (450, "Too many messages, slow down", True),
        (452, "4.5.3 Daily sending LIMIT reached", True),
        (454, "Throttling failure: Maximum sending rate exceeded.", True),
        (451, "4.7.1 Greylisted, please try again later", False),
        (452, "4.2.2 Mailbox full", False),
        (450, "4.2.1 Mailbox temporarily unavailable", False),
        (550, "5.7.1 Rate limit policy violation", False),
        (554, "Too many recipients", False),
    ],
)
def test_421_always_and_45x_when_its_text_speaks_of_rate_limit_or_throttling(code, text, throttling):
    assert is_throttling(code, text) is throttling


def test_a_throttling_reply_is_a_throttled_outcome_and_a_greylisting_a_temporary_one():
    assert classify_send_error(smtplib.SMTPDataError(451, b"4.7.0 Rate limit exceeded")) == Outcome.throttled(
        "SMTPDataError: 451 4.7.0 Rate limit exceeded"
    )
    assert classify_send_error(smtplib.SMTPDataError(451, b"4.7.1 Greylisted")) == Outcome.temporary(
        "SMTPDataError: 451 4.7.1 Greylisted"
    )
    refused = smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"Too many recipients this hour")})
    assert classify_send_error(refused) == Outcome.throttled(
        "SMTPRecipientsRefused: 450 Too many recipients this hour"
    )
    final = smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"rate limit policy")})
    assert classify_send_error(final) == Outcome.permanent_failure(
        "SMTPRecipientsRefused: 550 rate limit policy"
    )
