"""The pace stores every worker shares: a block taken starts where the last one ended, a pause
moves the channel's next free moment on, and every answer is on the store's own clock. The
database's ``ChannelPace`` row and Redis, for real; the pacer over them; and the fast path of a
channel without a rate limit, which asks no store."""

import time
import uuid

import pytest
from django.test import override_settings

from spire_notify import Message, notify
from spire_notify.backends.base import BaseNotificationBackend, Delivery, Outcome, Rendered
from spire_notify.backends.rates import parse_rate
from spire_notify.models import ChannelPace
from spire_notify.worker.claims import claim_batch
from spire_notify.worker.handover import STOPPING, ClaimKeeper
from spire_notify.worker.pace_stores import (
    DatabasePaceStore,
    PaceStoreUnavailable,
    RedisPaceStore,
    pace_store,
)
from spire_notify.worker.pacing import FIRST_PAUSE_SECONDS, HEADROOM, Pacer, pacer_for
from tests.support.redis_server import reachable_redis

REDIS_URL = "redis://127.0.0.1:6379/12"


@pytest.fixture
def redis_store():
    reachable_redis(REDIS_URL)
    return RedisPaceStore(REDIS_URL)


@pytest.fixture(params=["database", "redis"])
def store(request, db):
    if request.param == "database":
        return DatabasePaceStore()
    return request.getfixturevalue("redis_store")


def test_blocks_follow_each_other_and_start_now_on_an_idle_channel(store):
    channel = f"email-{uuid.uuid4().hex[:8]}"
    start, now = store.reserve(channel, 10, 0.05)
    assert start == pytest.approx(now, abs=0.001)
    assert now == pytest.approx(time.time(), abs=2)  # the store's clock, close to ours here
    second, _ = store.reserve(channel, 5, 0.05)
    assert second == pytest.approx(start + 0.5, abs=1e-6)
    third, _ = store.reserve(channel, 1, 0.05)
    assert third == pytest.approx(second + 0.25, abs=1e-6)


def test_a_pause_moves_the_next_block_after_it_and_never_back(store):
    channel = f"email-{uuid.uuid4().hex[:8]}"
    _, now = store.reserve(channel, 1, 0.05)
    store.pause(channel, 30)
    start, _ = store.reserve(channel, 1, 0.05)
    assert start == pytest.approx(now + 30, abs=0.5)
    store.pause(channel, 1)  # a shorter pause after a longer one shortens nothing
    later, _ = store.reserve(channel, 1, 0.05)
    assert later == pytest.approx(start + 0.05, abs=1e-6)


@pytest.mark.django_db
def test_the_database_store_keeps_one_row_per_channel():
    store = DatabasePaceStore()
    store.reserve("email", 3, 0.1)
    store.reserve("email", 3, 0.1)
    store.reserve("push", 1, 1)
    assert sorted(ChannelPace.objects.values_list("channel", flat=True)) == ["email", "push"]


def test_a_redis_that_cannot_be_reached_is_reported_not_raised_as_itself():
    store = RedisPaceStore("redis://127.0.0.1:1/0")
    with pytest.raises(PaceStoreUnavailable, match="the Redis pace store failed"):
        store.reserve("email", 1, 1)


@pytest.mark.django_db
def test_the_pacer_spaces_its_moments_at_the_rate_and_takes_them_in_blocks(django_assert_num_queries):
    pacer = Pacer("email", parse_rate("20/s"), DatabasePaceStore())
    with django_assert_num_queries(3):  # the first block finds no row, makes it, and takes the block
        moments = [pacer.next_turn(wanted=10)[0] for _ in range(10)]
    # 20/s is a moment every 50 ms; the pacer spends 90 % of it (HEADROOM), every 55.6 ms.
    spacing = [b - a for a, b in zip(moments, moments[1:], strict=False)]
    assert spacing == pytest.approx([0.05 / HEADROOM] * 9, abs=1e-6)
    with django_assert_num_queries(1):
        [pacer.next_turn(wanted=100) for _ in range(40)]  # a block is at most 2 s of the rate


@pytest.mark.django_db
def test_a_throttled_outcome_pauses_the_pacer_and_drops_the_moments_it_held():
    pacer = Pacer("email", parse_rate("20/s"), DatabasePaceStore())
    pacer.next_turn(wanted=10)
    pacer.settled(Outcome.throttled("421 slow down"))
    turn, granted = pacer.next_turn(wanted=10)
    assert granted and turn >= time.monotonic() + FIRST_PAUSE_SECONDS - 0.1
    pacer.settled(Outcome.throttled("429", retry_after=5))
    assert pacer.next_turn()[0] >= time.monotonic() + 4.9


@pytest.mark.django_db
def test_a_channel_without_a_rate_limit_asks_no_store(django_assert_num_queries):
    with django_assert_num_queries(0):
        pacer = pacer_for(BaseNotificationBackend(alias="email"))
        assert (pacer.rate, pacer.store) == (None, None)
        assert pacer.next_turn() == (0.0, True)


@override_settings(NOTIFY_RATE_LIMIT_STORE=REDIS_URL)
def test_the_setting_picks_the_store_and_a_pacer_is_kept_per_channel():
    assert isinstance(pace_store(), RedisPaceStore)
    backend = BaseNotificationBackend(alias="email", rate_limit="14/s")
    assert pacer_for(backend) is pacer_for(backend)
    assert isinstance(pacer_for(backend).store, RedisPaceStore)


@pytest.mark.django_db
def test_a_stop_wins_over_a_guard_waiting_for_its_turn(make_user):
    """A worker told to stop while it waits out a pause withholds the row at once, not after."""
    [row] = notify(Message(event="test", title="t", path="/x/"), {make_user("a"): ["email"]})
    [claimed] = claim_batch(1, lease_seconds=300)
    pacer = Pacer("email", parse_rate("20/s"), DatabasePaceStore())
    pacer.settled(Outcome.throttled("429", retry_after=30))
    asked_to_stop = time.monotonic() + 0.3
    delivery = Delivery(notification=claimed, rendered=Rendered(body="", url=""))
    guard = ClaimKeeper([delivery], should_stop=lambda: time.monotonic() >= asked_to_stop, pacer=pacer)
    started = time.monotonic()
    assert guard(delivery) == STOPPING
    assert time.monotonic() - started < 1
