"""Digests exactly once on PostgreSQL with real workers: four workers at once, and a worker
killed with SIGKILL in the middle of a batch of digests. Each user's held items reach the SMTP
server in one digest; no item is in two digests or lost. The only duplicates are digests of the
killed batch that the server accepted before the kill, resent with the same Message-ID.

Figures: ``pytest tests/worker/test_digest_workers.py -s``.
"""

import signal
import time
from collections import Counter, defaultdict

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from spire_notify import Message, notification_types, notify
from spire_notify.models import Digest, Notification, NotificationPreference
from tests.support.delivery_harness import (
    DUMMY_TASKS,
    SmtpSink,
    finish,
    manage,
    postgres_only,
    shared_db,
    wait_until,
    worker_env,
)

__all__ = ["shared_db"]

pytestmark = [pytest.mark.postgres, postgres_only]

TYPE = "delivery.digest"
DAY = 86400


@pytest.fixture
def _digest_type():
    notification_types.register(TYPE, name="Digest test", default_channels=["email"])
    with override_settings(TASKS=DUMMY_TASKS):
        yield
    notification_types.unregister(TYPE)


def seed_held_items(users, items_per_user):
    """``users`` users in digest mode, each holding ``items_per_user`` email notifications."""
    user_model = get_user_model()
    people = user_model.objects.bulk_create(
        [user_model(username=f"reader{i}", email=f"reader{i}@example.net") for i in range(users)]
    )
    NotificationPreference.objects.bulk_create(
        [NotificationPreference(user=user, type_key=TYPE, channel="email", mode="digest") for user in people]
    )
    for number in range(items_per_user):
        notify(
            Message(event=TYPE, title=f"Item {number}", path=f"/i/{number}/"),
            {user: ["email"] for user in people},
        )
    assert Notification.objects.filter(status="held").count() == users * items_per_user
    return people


def assert_each_item_in_exactly_one_sent_digest(people, items_per_user):
    items = list(Notification.objects.values_list("user_id", "status", "digest_id"))
    assert Counter(status for _, status, _ in items) == {"sent": len(people) * items_per_user}
    digests_of = defaultdict(set)
    for user_id, _, digest_id in items:
        digests_of[user_id].add(digest_id)
    assert all(len(digests) == 1 for digests in digests_of.values())
    assert Counter(Digest.objects.values_list("status", flat=True)) == {"sent": len(people)}


@pytest.mark.usefixtures("_digest_type")
def test_four_workers_send_each_users_digest_exactly_once(shared_db):
    users, items_per_user, workers = 300, 5, 4
    people = seed_held_items(users, items_per_user)
    with SmtpSink() as sink:
        env = worker_env(shared_db, smtp_port=sink.port, clock_offset=DAY)
        started = time.monotonic()
        processes = [manage("process_notifications", "--batch-size", "25", env=env) for _ in range(workers)]
        for process in processes:
            finish(process, timeout=300)
        # A worker that found every user taken by the others ends early; one more run finds nothing.
        finish(manage("process_notifications", env=env))
        elapsed = time.monotonic() - started
    received = sink.handler.message_ids()
    by_recipient = Counter(rcpt for _, rcpt in sink.handler.received)
    print(
        f"\n[digests] {users} users x {items_per_user} items, {workers} workers: "
        f"{len(received)} digests, {sum(received.values()) - len(received)} duplicates, {elapsed:.1f}s"
    )
    assert set(received) == {
        f"<digest.{pk}@example.com>" for pk in Digest.objects.values_list("pk", flat=True)
    }
    assert max(received.values()) == 1
    assert set(by_recipient.values()) == {1} and len(by_recipient) == users
    assert_each_item_in_exactly_one_sent_digest(people, items_per_user)


@pytest.mark.usefixtures("_digest_type")
def test_a_worker_killed_mid_digest_loses_nothing_and_puts_no_item_in_two_digests(shared_db):
    users, items_per_user, lease = 200, 3, 5
    people = seed_held_items(users, items_per_user)
    # 20 ms per message makes a batch of 50 digests last a second: long enough to be killed in.
    with SmtpSink(delay=0.02) as sink:
        env = worker_env(shared_db, smtp_port=sink.port, clock_offset=DAY, lease_seconds=lease)
        doomed = manage("process_notifications", "--batch-size", "50", env=env)
        wait_until(lambda: sum(sink.handler.message_ids().values()) >= 10, timeout=60, message="ten digests")
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate(timeout=30)
        sink.wait_for_every_session_to_end()
        accepted_before_kill = set(sink.handler.message_ids())
        abandoned = set(Digest.objects.filter(status="processing").values_list("pk", flat=True))
        assert abandoned
        survivor = manage(
            "process_notifications", "--loop", "--interval", "0.2", "--batch-size", "50", env=env
        )
        wait_until(
            lambda: not Notification.objects.exclude(status="sent").exists(),
            timeout=120,
            message="every item to be sent",
        )
        survivor.send_signal(signal.SIGTERM)
        finish(survivor)
    received = sink.handler.message_ids()
    duplicated = {message for message, count in received.items() if count > 1}
    print(
        f"\n[digest kill] {users} users x {items_per_user} items, killed after {len(accepted_before_kill)} "
        f"accepted, {len(abandoned)} digests left processing: {len(received)} distinct digests, "
        f"{sum(received.values()) - len(received)} duplicates"
    )
    assert set(received) == {
        f"<digest.{pk}@example.com>" for pk in Digest.objects.values_list("pk", flat=True)
    }
    assert duplicated <= {f"<digest.{pk}@example.com>" for pk in abandoned} & accepted_before_kill
    assert max(received.values()) <= 2
    assert_each_item_in_exactly_one_sent_digest(people, items_per_user)
