"""The Redis server this machine runs on 127.0.0.1:6379, for the tests that need a real one."""

import pytest
import redis


def reachable_redis(url):
    """A client of the Redis at ``url``; the test is skipped, saying why, if it does not answer."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.skip(f"Redis is unreachable at {url}: {error}")
    return client
