"""A push to many browsers, some of which hang, in real worker processes: the row keeps its
claim while it goes from browser to browser and ends by its deadline, so no other worker takes
the batch over and no other user's browser gets the push twice; its retries go only to the
browsers that have not taken it (issue 18, item 3).

The browsers that hang accept TCP and never answer; two workers run side by side with a lease
of 2 s, each request may take 0.5 s, each row 1 s. Figures: ``pytest
tests/worker/test_destination_deadline.py -s``.
"""

import signal
import time
from collections import Counter

from cryptography.hazmat.primitives.asymmetric import ec
from django.test import override_settings

from spire_notify import notify
from spire_notify.models import Notification
from tests.channels.test_backend_webpush import SUBJECT, TICKET, Browser, pem
from tests.support.delivery_harness import DUMMY_TASKS, finish, manage, shared_db, wait_until, worker_env
from tests.support.local_http import RecordingServer, SilentServer

__all__ = ["shared_db"]

HANGING_BROWSERS = 8
LEASE_SECONDS = 2
PUSH_TIMEOUT = 0.5
DEADLINE_SECONDS = 1
MAX_ATTEMPTS = 5


def push_settings(key):
    return {
        "push": {
            "BACKEND": "spire_notify.channels.webpush.backend.WebPushBackend",
            "OPTIONS": {"vapid_private_key": key, "vapid_subject": SUBJECT, "timeout": PUSH_TIMEOUT},
        }
    }


def statuses(*users):
    return [Notification.objects.get(user=user).status for user in users]


@override_settings(TASKS=DUMMY_TASKS)
def test_a_row_to_hanging_browsers_keeps_its_claim_and_sends_nothing_twice(shared_db, make_user):
    key = pem(ec.generate_private_key(ec.SECP256R1()))
    with RecordingServer() as push_service, SilentServer() as hanging:
        first, stuck, last = make_user("first"), make_user("stuck"), make_user("last")
        Browser(f"http://{push_service.origin}/push/first").subscribe(first)
        Browser(f"http://{push_service.origin}/push/stuck-laptop").subscribe(stuck)
        for number in range(HANGING_BROWSERS):
            Browser(f"http://{hanging.origin}/push/{number}").subscribe(stuck)
        Browser(f"http://{push_service.origin}/push/last").subscribe(last)
        with override_settings(NOTIFY_BACKENDS=push_settings(key)):
            # One after the other, so that the batch holds them in this order.
            for user in (first, stuck, last):
                notify(TICKET, {user: ["push"]})
        env = worker_env(
            shared_db,
            push_key=key,
            push_timeout=PUSH_TIMEOUT,
            deadline_seconds=DEADLINE_SECONDS,
            lease_seconds=LEASE_SECONDS,
            retry_base_delay=0.2,
        )
        started = time.monotonic()
        workers = [manage("process_notifications", "--loop", "--interval", "0.2", env=env) for _ in range(2)]
        try:
            wait_until(
                lambda: Notification.objects.exclude(status="pending").exists(),
                timeout=60,
                interval=0.05,
                message="a worker to claim the batch",
            )
            claimed_after = time.monotonic() - started
            wait_until(
                lambda: "sent" in statuses(last) or "failed" in statuses(last),
                timeout=60,
                interval=0.05,
                message="the last healthy row to be recorded",
            )
            last_recorded_after = time.monotonic() - started - claimed_after
            wait_until(
                lambda: set(statuses(first, stuck, last)) <= {"sent", "failed"},
                timeout=60,
                message="every row to end",
            )
            finished_after = time.monotonic() - started
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                finish(worker)
    pushes = Counter(request.path for request in push_service.received)
    duplicates = sum(count - 1 for count in pushes.values())
    print(
        f"\n[item 3] {HANGING_BROWSERS} hanging browsers, 2 workers, lease {LEASE_SECONDS}s, "
        f"timeout {PUSH_TIMEOUT}s, deadline {DEADLINE_SECONDS}s: pushes {dict(pushes)}, "
        f"{duplicates} duplicates; the last healthy row recorded {last_recorded_after:.1f}s after the claim, "
        f"every row ended after {finished_after:.1f}s ({hanging.connections} hanging requests), "
        f"statuses {statuses(first, stuck, last)}"
    )
    assert statuses(first, stuck, last) == ["sent", "failed", "sent"]
    assert pushes == {"/push/first": 1, "/push/stuck-laptop": 1, "/push/last": 1}
    row = Notification.objects.get(user=stuck)
    assert row.attempts == MAX_ATTEMPTS
    assert row.last_error == (
        "requests.exceptions.ReadTimeout: HTTPConnectionPool(host='••••', "
        f"port=••••): Read timed out. (read timeout={PUSH_TIMEOUT}); the delivery "
        f"deadline ({DEADLINE_SECONDS}s) passed before every destination was tried: the rest are tried on retry"
    )
    # Each attempt ends by its deadline: at most two hanging browsers of 0.5 s fit in 1 s.
    assert hanging.connections <= 2 * MAX_ATTEMPTS
    # The batch waited for the stuck row's deadline, and no longer.
    assert last_recorded_after < DEADLINE_SECONDS + 1
