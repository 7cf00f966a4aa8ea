"""Two worker processes share one channel's ``rate_limit``: 60 emails at 20/s take about 3 s
and no 1-s window of the SMTP server's arrivals holds more than the rate, with the pace kept in
the database (``ChannelPace``) or in Redis.

Figures: ``pytest tests/worker/test_rate_limit_workers.py -s`` prints the spread and the
busiest window.
"""

from django.test import override_settings

from spire_notify.models import Notification
from tests.support.delivery_harness import (
    DUMMY_TASKS,
    finish,
    manage,
    message_id,
    seed_email_notifications,
    shared_db,
    worker_env,
)
from tests.support.redis_server import reachable_redis
from tests.support.throttling_smtp import ThrottlingRelay

__all__ = ["shared_db"]

RATE, EMAILS, WORKERS = 20, 60, 2
REDIS_URL = "redis://127.0.0.1:6379/12"


def run_paced_workers(db_name, *, store=""):
    seeded = seed_email_notifications(EMAILS)
    with ThrottlingRelay() as relay:
        env = worker_env(db_name, smtp_port=relay.port, rate_limit=f"{RATE}/s", rate_limit_store=store)
        # Batches of 10, so that both workers have rows to send at once.
        processes = [manage("process_notifications", "--batch-size", "10", env=env) for _ in range(WORKERS)]
        outputs = [finish(process, timeout=120) for process in processes]
    arrivals = sorted(arrived for arrived, _ in relay.handler.arrivals)
    spread = arrivals[-1] - arrivals[0]
    # A hand-off may arrive up to one interval late and the next one on time: the window a
    # strict pace can be seen to overrun by one is one interval short of a second.
    busiest = relay.handler.most_in_any_window(1.0 - 1 / RATE)
    print(
        f"\n[rate limit] {EMAILS} emails, {WORKERS} workers at {RATE}/s ({store or 'database'}): "
        f"{spread:.2f}s first to last, busiest window {busiest}; {outputs}"
    )
    assert sorted(message for _, message in relay.handler.arrivals) == sorted(map(message_id, seeded))
    assert all("sent" in output and output.split(",")[0] != "sent 0" for output in outputs), outputs
    assert spread >= (EMAILS - 1) / RATE - 0.5
    assert busiest <= RATE
    assert Notification.objects.filter(status="sent").count() == EMAILS


@override_settings(TASKS=DUMMY_TASKS)
def test_two_workers_share_a_database_kept_rate_limit(shared_db):
    run_paced_workers(shared_db)


@override_settings(TASKS=DUMMY_TASKS)
def test_two_workers_share_a_redis_kept_rate_limit(shared_db):
    client = reachable_redis(REDIS_URL)
    # The channel's key lives on between runs: a fresh database number would be a fresh key,
    # and a stale pace from an earlier run could only slow this one down, never speed it up.
    client.delete("spire_notify:pace:email")
    run_paced_workers(shared_db, store=REDIS_URL)
