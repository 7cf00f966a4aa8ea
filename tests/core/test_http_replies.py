"""``Retry-After``, as an HTTP receiver that throttles states it: seconds, or an HTTP date."""

from datetime import UTC, datetime

import pytest

from spire_notify.backends.http_replies import retry_after_seconds

NOW = datetime(2026, 12, 4, 0, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Fri, 04 Dec 2026 00:01:30 GMT", 90.0),
        ("Thu, 03 Dec 2026 23:59:00 GMT", 0.0),  # a date already past: go now
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date_and_anything_else_is_no_hint(header, seconds):
    assert retry_after_seconds(header, now=NOW) == seconds
