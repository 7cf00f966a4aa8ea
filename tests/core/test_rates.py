"""The ``rate_limit`` option: what it parses, and the check that names a bad one (E120)."""

import pytest
from django.core.checks import Error
from django.test import override_settings

from spire_notify.backends.base import BaseNotificationBackend
from spire_notify.backends.rates import Rate, parse_rate
from spire_notify.checks import check_backends


@pytest.mark.parametrize(
    ("value", "rate", "interval"),
    [("14/s", Rate(14, 1), 1 / 14), ("600/m", Rate(600, 60), 0.1), ("50000/h", Rate(50000, 3600), 0.072)],
)
def test_a_rate_is_a_count_per_second_minute_or_hour(value, rate, interval):
    assert parse_rate(value) == rate
    assert parse_rate(value).interval == pytest.approx(interval)
    assert str(parse_rate(value)) == value


def test_spaces_around_the_parts_are_allowed():
    assert parse_rate(" 14 / s ") == Rate(14, 1)


@pytest.mark.parametrize("value", ["14", "14/d", "0/s", "-1/s", "1.5/s", "fast", "", 14, None, "14/sec"])
def test_anything_else_is_refused_with_the_forms_it_takes(value):
    with pytest.raises(ValueError) as refused:
        parse_rate(value)
    assert str(refused.value) == (
        "'rate_limit' must be a count above 0 per second, minute or hour, such as \"14/s\", "
        f'"600/m" or "50000/h", not {value!r}.'
    )


@override_settings(
    NOTIFY_BACKENDS={
        "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
        "email": {
            "BACKEND": "spire_notify.channels.email.backend.EmailBackend",
            "OPTIONS": {"rate_limit": "14 per second"},
        },
    }
)
def test_a_bad_rate_limit_is_a_system_check_error_that_names_the_alias():
    errors = [message for message in check_backends() if message.id == "spire_notify.E120"]
    assert errors == [
        Error(
            "NOTIFY_BACKENDS['email']: 'rate_limit' must be a count above 0 per second, minute or hour, "
            'such as "14/s", "600/m" or "50000/h", not \'14 per second\'.',
            hint="Set OPTIONS['rate_limit'] to your provider's limit, e.g. \"14/s\" for Amazon SES, or "
            "remove it to send as fast as the channel goes.",
            id="spire_notify.E120",
        )
    ]


def test_every_backend_takes_the_option_and_none_is_no_limit():
    assert BaseNotificationBackend(alias="x").rate_limit is None
    assert BaseNotificationBackend(alias="x", rate_limit="5/s").option_errors() == []
