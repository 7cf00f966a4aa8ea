"""Where every worker of a project shares the pace of its rate-limited channels.

A store keeps, per channel, the moment its next hand-off is free. ``reserve(channel, count,
interval)`` moves that moment ``count * interval`` forward in one atomic step and answers where
the block it took starts, on the store's own clock, with that clock's "now": the caller waits
the difference, so workers on machines whose clocks differ still share one timeline.
``pause(channel, seconds)`` moves it to at least ``seconds`` from now (a throttling reply).

- ``DatabasePaceStore``, the default: one ``ChannelPace`` row per channel, moved by a single
  ``UPDATE … RETURNING``, which the database serialises per row, so two workers never take the
  same slot.
- ``RedisPaceStore``, when ``NOTIFY_RATE_LIMIT_STORE`` names a Redis URL: a Lua script does the
  same, atomically, on the Redis server's clock.
"""

import time
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction

from spire_notify import conf
from spire_notify.store.models import ChannelPace

try:
    import redis
except ImportError:  # the "redis" extra is optional; the checks say when it is missing (E124)
    redis = None

REDIS_SCHEMES = ("redis", "rediss", "unix")
# Redis keeps a channel's pace this long after its block ends: an idle channel leaves no key.
REDIS_IDLE_SECONDS = 3600
# The database's clock in seconds since the epoch, constant within one statement, per vendor.
DATABASE_NOW = {
    "postgresql": "EXTRACT(EPOCH FROM statement_timestamp())",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}


class PaceStoreUnavailable(Exception):
    """The store could not be reached; the pacer waits and asks again rather than guess."""


class DatabasePaceStore:
    def __init__(self, using="default"):
        self.using = using

    def reserve(self, channel, count, interval):
        length = float(count * interval)
        new_free_at, now = self._move(channel, lambda free_at_or_now, now: f"{free_at_or_now} + {length!r}")
        return new_free_at - length, now

    def pause(self, channel, seconds):
        seconds = float(seconds)
        self._move(
            channel,
            lambda _, now: (
                f"(CASE WHEN free_at > {now} + {seconds!r} THEN free_at ELSE {now} + {seconds!r} END)"
            ),
        )

    def _move(self, channel, target):
        """``(free_at, now)`` once ``free_at`` is set to ``target(free_at_or_now, now)`` (SQL), in
        one statement; the channel's row is made by whichever worker comes first."""
        try:
            moved = self._update(channel, target)
            if moved is None:
                ChannelPace.objects.using(self.using).bulk_create(
                    [ChannelPace(channel=channel)], ignore_conflicts=True
                )
                moved = self._update(channel, target)
        except Exception as error:
            raise PaceStoreUnavailable(f"the database pace store failed: {error}") from error
        return moved

    def _update(self, channel, target):
        connection = connections[self.using]
        # Another database: this process's clock, as a literal (keep the workers' clocks in sync).
        now = DATABASE_NOW.get(connection.vendor) or repr(time.time())
        table = connection.ops.quote_name(ChannelPace._meta.db_table)
        free_at_or_now = f"(CASE WHEN free_at > {now} THEN free_at ELSE {now} END)"
        sql = f"UPDATE {table} SET free_at = {target(free_at_or_now, now)} WHERE channel = %s"
        if connection.features.can_return_columns_from_insert:
            with connection.cursor() as cursor:
                cursor.execute(f"{sql} RETURNING free_at, {now}", [channel])
                row = cursor.fetchone()
        else:
            # The UPDATE locks the row until the end of the transaction: what the SELECT reads
            # is what this worker wrote.
            with transaction.atomic(using=self.using), connection.cursor() as cursor:
                cursor.execute(sql, [channel])
                cursor.execute(f"SELECT free_at, {now} FROM {table} WHERE channel = %s", [channel])
                row = cursor.fetchone()
        return None if row is None else (float(row[0]), float(row[1]))


class RedisPaceStore:
    """The same timeline in Redis, moved by a Lua script (atomic on the server) on its clock."""

    RESERVE = """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
        local free_at = tonumber(redis.call('GET', KEYS[1]) or '0')
        if free_at < now then free_at = now end
        local target = free_at + tonumber(ARGV[1])
        if ARGV[2] == 'pause' then
            target = math.max(free_at, now + tonumber(ARGV[1]))
        end
        local ttl = math.ceil(target - now) + tonumber(ARGV[3])
        redis.call('SET', KEYS[1], string.format('%.6f', target), 'EX', ttl)
        return {string.format('%.6f', free_at), string.format('%.6f', now)}
    """

    def __init__(self, url):
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.script = self.client.register_script(self.RESERVE)

    def reserve(self, channel, count, interval):
        return self._run(channel, count * interval, "reserve")

    def pause(self, channel, seconds):
        self._run(channel, seconds, "pause")

    def _run(self, channel, seconds, mode):
        try:
            start, now = self.script(
                keys=[f"spire_notify:pace:{channel}"], args=[seconds, mode, REDIS_IDLE_SECONDS]
            )
        except redis.RedisError as error:
            raise PaceStoreUnavailable(f"the Redis pace store failed: {error}") from error
        return float(start), float(now)


def store_problem(value):
    """``(check id, sentence)`` of what is wrong with ``NOTIFY_RATE_LIMIT_STORE``, or ``None``.
    A Redis that cannot be reached now is not a problem of the setting: the pacer waits for it."""
    if value is None:
        return None
    scheme = urlsplit(value).scheme if isinstance(value, str) else None
    if scheme not in REDIS_SCHEMES:
        return (
            "E121",
            f"NOTIFY_RATE_LIMIT_STORE must be None (the database) or a Redis URL "
            f"({', '.join(f'{name}://' for name in REDIS_SCHEMES)}), not {value!r}.",
        )
    if redis is None:
        return ("E124", "NOTIFY_RATE_LIMIT_STORE names Redis, but the redis package is not installed.")
    try:
        redis.connection.parse_url(value)
    except ValueError as error:
        return ("E122", f"NOTIFY_RATE_LIMIT_STORE is not a Redis URL redis-py can read: {error}")
    return None


_redis_stores = {}


def pace_store(using="default"):
    """The store ``NOTIFY_RATE_LIMIT_STORE`` names; one Redis client per URL and process."""
    url = conf.get("NOTIFY_RATE_LIMIT_STORE")
    if url is None:
        return DatabasePaceStore(using)
    if problem := store_problem(url):
        # The system checks say it at startup; a worker started anyway stops here, loudly.
        check_id, text = problem
        raise ImproperlyConfigured(f"spire_notify.{check_id}: {text}")
    if url not in _redis_stores:
        _redis_stores[url] = RedisPaceStore(url)
    return _redis_stores[url]
