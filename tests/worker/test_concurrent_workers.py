"""Several ``process_notifications`` processes at once share the work: every notification
reaches the SMTP server exactly once, counted by Message-ID.

Figures: ``pytest tests/worker/test_concurrent_workers.py -s`` prints notifications, workers,
duplicates and time.
"""

import re
import time
from collections import Counter

import pytest
from django.test import override_settings

from spire_notify.models import Notification
from tests.support.delivery_harness import (
    DUMMY_TASKS,
    ON_POSTGRES,
    SmtpSink,
    finish,
    manage,
    message_id,
    postgres_only,
    seed_email_notifications,
    shared_db,
    worker_env,
)

__all__ = ["shared_db"]


def run_workers_at_once(db_name, *, notifications, workers, batch_size):
    seeded = seed_email_notifications(notifications)
    with SmtpSink() as sink:
        env = worker_env(db_name, smtp_port=sink.port)
        started = time.monotonic()
        processes = [
            manage("process_notifications", "--batch-size", str(batch_size), env=env) for _ in range(workers)
        ]
        outputs = [finish(process, timeout=300) for process in processes]
        elapsed = time.monotonic() - started
    received = sink.handler.message_ids()
    shares = [int(re.match(r"sent (\d+),", output).group(1)) for output in outputs]
    duplicates = sum(count - 1 for count in received.values())
    print(
        f"\n[concurrency] {notifications} notifications, {workers} workers "
        f"(batch {batch_size}), shares {shares}: {len(received)} distinct Message-IDs, "
        f"{duplicates} duplicates, {elapsed:.1f}s"
    )
    assert set(received) == {message_id(notification) for notification in seeded}
    assert duplicates == 0
    assert sum(shares) == notifications
    assert Counter(Notification.objects.values_list("status", flat=True)) == {"sent": notifications}
    assert not Notification.objects.filter(sent_at=None).exists()


@pytest.mark.postgres
@postgres_only
@override_settings(TASKS=DUMMY_TASKS)
def test_four_workers_drain_2000_email_notifications_exactly_once(shared_db):
    run_workers_at_once(shared_db, notifications=2000, workers=4, batch_size=50)


@pytest.mark.skipif(ON_POSTGRES, reason="the PostgreSQL run drains 2,000 with four workers instead")
@override_settings(TASKS=DUMMY_TASKS)
def test_two_workers_share_a_sqlite_file_exactly_once(shared_db):
    run_workers_at_once(shared_db, notifications=300, workers=2, batch_size=25)
