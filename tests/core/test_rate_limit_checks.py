"""The system checks of rate limits and throttling: the pace store's setting (E121, E122,
E124) and NOTIFY_MAX_THROTTLES (E123). A backend's own ``rate_limit`` is E120
(tests/core/test_rates.py)."""

import pytest
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from spire_notify.checks import check_rate_limit_settings
from spire_notify.worker import pace_stores


def test_the_defaults_pass():
    assert check_rate_limit_settings() == []


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://:secret@cache.internal:6380/2", "unix:///run/redis.sock"]
)
def test_a_redis_url_passes_even_when_no_redis_listens_there(url):
    with override_settings(NOTIFY_RATE_LIMIT_STORE=url):
        assert check_rate_limit_settings() == []


@pytest.mark.parametrize("value", ["memcached://127.0.0.1:11211", "127.0.0.1:6379", "database", 6379])
def test_a_store_that_is_neither_the_database_nor_redis_is_e121(value):
    with override_settings(NOTIFY_RATE_LIMIT_STORE=value):
        assert check_rate_limit_settings() == [
            Error(
                "NOTIFY_RATE_LIMIT_STORE must be None (the database) or a Redis URL (redis://, rediss://, "
                f"unix://), not {value!r}.",
                hint="Leave NOTIFY_RATE_LIMIT_STORE unset to keep the pace in the database, or set a Redis "
                'URL such as "redis://127.0.0.1:6379/0".',
                id="spire_notify.E121",
            )
        ]


def test_a_redis_url_redis_py_cannot_read_is_e122_and_stops_a_worker():
    with override_settings(NOTIFY_RATE_LIMIT_STORE="redis://127.0.0.1:sixty/0"):
        [error] = check_rate_limit_settings()
        assert (error.id, error.msg) == (
            "spire_notify.E122",
            "NOTIFY_RATE_LIMIT_STORE is not a Redis URL redis-py can read: Port could not be cast to "
            "integer value as 'sixty'",
        )
        with pytest.raises(ImproperlyConfigured, match="^spire_notify.E122: "):
            pace_stores.pace_store()


@pytest.mark.parametrize("value", [0, -1, 2.5, "10", True, None])
def test_max_throttles_must_be_a_positive_whole_number_e123(value):
    with override_settings(NOTIFY_MAX_THROTTLES=value):
        assert check_rate_limit_settings() == [
            Error(
                f"NOTIFY_MAX_THROTTLES must be a positive whole number, not {value!r}.",
                hint="Set NOTIFY_MAX_THROTTLES to e.g. 10.",
                id="spire_notify.E123",
            )
        ]


def test_a_redis_store_without_the_redis_package_is_e124(monkeypatch):
    # As if the "redis" extra were not installed: the module keeps None where the import failed.
    monkeypatch.setattr(pace_stores, "redis", None)
    with override_settings(NOTIFY_RATE_LIMIT_STORE="redis://127.0.0.1:6379/0"):
        [error] = check_rate_limit_settings()
    assert (error.id, error.msg) == (
        "spire_notify.E124",
        "NOTIFY_RATE_LIMIT_STORE names Redis, but the redis package is not installed.",
    )
