"""A receiver that says "too fast" (SMTP 421/451 "rate limit", HTTP 429) throttles a row: it
goes back to the queue for as long as the receiver asked (or a backoff), without spending an
attempt, its ``throttles`` counted; after ``NOTIFY_MAX_THROTTLES`` it fails. Rows and digests
alike, against real servers on 127.0.0.1."""

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from spire_notify import Message, clock, notification_types, notify
from spire_notify.models import Digest, Notification
from spire_notify.preferences import set_preference
from spire_notify.worker.digests import claim_digests, send_digests
from spire_notify.worker.process import process_notifications
from tests.mail_settings import email_connections
from tests.support.delivery_harness import DUMMY_TASKS
from tests.support.local_http import RecordingServer, Reply
from tests.support.throttling_smtp import RATE_LIMIT_REPLY, ThrottlingRelay

pytestmark = pytest.mark.django_db

MESSAGE = Message(event="test", title="Deploy finished", body="All green.", path="/deploys/7/")
SECRET = "whsec_" + base64.b64encode(b"a key shared with the receiver..").decode()


def test_a_rate_limit_reply_sends_the_row_back_without_spending_an_attempt(make_user):
    with (
        ThrottlingRelay(throttle_first=1) as relay,
        override_settings(TASKS=DUMMY_TASKS, **relay.mail_settings(), **email_connections(1)),
    ):
        rows = notify(MESSAGE, {make_user(name): ["email"] for name in ("a", "b", "c")})
        before = clock.now()
        counts = process_notifications()
    assert counts == {"sent": 2, "errored": 0, "failed": 0, "skipped": 0, "throttled": 1}
    first, *rest = sorted(rows, key=lambda row: row.pk)
    first.refresh_from_db()
    assert (first.status, first.attempts, first.throttles, first.last_error) == (
        "pending",
        0,
        1,
        f"SMTPDataError: {RATE_LIMIT_REPLY}",
    )
    # No Retry-After in SMTP: the row backs off as a retry would (NOTIFY_RETRY_BASE_DELAY, jittered).
    assert before + timedelta(seconds=30) <= first.next_attempt_at <= clock.now() + timedelta(seconds=60)
    assert len(relay.handler.arrivals) == 2


def test_the_rest_of_the_batch_waits_after_a_throttling_reply(make_user):
    with (
        ThrottlingRelay(throttle_first=1, reply="421 4.7.0 Too many connections, closing") as relay,
        override_settings(TASKS=DUMMY_TASKS, **relay.mail_settings(), **email_connections(1)),
    ):
        notify(MESSAGE, {make_user(name): ["email"] for name in ("a", "b")})
        started = time.time()
        process_notifications()
    [(arrived, _)] = relay.handler.arrivals
    # The pacer pauses the channel a second after a 421 that names no wait (FIRST_PAUSE_SECONDS).
    assert arrived - started >= 1.0


def test_a_row_throttled_max_throttles_times_fails_with_a_clear_reason(make_user):
    with (
        ThrottlingRelay(throttle_all=True) as relay,
        override_settings(
            TASKS=DUMMY_TASKS, NOTIFY_MAX_THROTTLES=2, **relay.mail_settings(), **email_connections(1)
        ),
    ):
        [row] = notify(MESSAGE, {make_user("a"): ["email"]})
        assert process_notifications()["throttled"] == 1
        Notification.objects.filter(pk=row.pk).update(next_attempt_at=clock.now())
        assert process_notifications() == {"sent": 0, "errored": 0, "failed": 1, "skipped": 0}
    row.refresh_from_db()
    assert (row.status, row.attempts, row.throttles, row.last_error) == (
        "failed",
        1,
        2,
        "Given up: the receiver throttled it 2 times (NOTIFY_MAX_THROTTLES); last reply: "
        f"SMTPDataError: {RATE_LIMIT_REPLY}",
    )


def test_a_429_waits_what_its_retry_after_asks(make_user):
    hook = {
        "BACKEND": "spire_notify.channels.webhook.backend.WebhookBackend",
        "OPTIONS": {"secret": SECRET},
    }
    with RecordingServer(
        replies={"/hook": Reply(429, b"slow down", headers={"Retry-After": "120"})}
    ) as server:
        hook["OPTIONS"]["url"] = f"http://{server.origin}/hook"
        with override_settings(TASKS=DUMMY_TASKS, NOTIFY_BACKENDS={"hook": hook}):
            [row] = notify(MESSAGE, {make_user("ops"): ["hook"]})
            before = clock.now()
            counts = process_notifications()
    assert counts["throttled"] == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.throttles, row.last_error) == (
        "pending",
        0,
        1,
        "HTTP 429 Too Many Requests: slow down",
    )
    assert before + timedelta(seconds=120) <= row.next_attempt_at <= clock.now() + timedelta(seconds=120)


@pytest.fixture
def digest_user(make_user):
    notification_types.register("shop.order", name="Orders", default_channels=["email"])
    user = make_user("ada")
    set_preference(user, "shop.order", "email", "digest")
    yield user
    notification_types.unregister("shop.order")
    clock.reset()


def test_a_throttled_digest_keeps_its_items_and_its_attempts(digest_user):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with (
        ThrottlingRelay(throttle_first=1) as relay,
        override_settings(TASKS=DUMMY_TASKS, **relay.mail_settings(), **email_connections(1)),
    ):
        with clock.frozen_at(start):
            for number in (1, 2):
                notify(
                    Message(event="shop.order", title=f"Order #{number}", path="/o/"),
                    {digest_user: ["email"]},
                )
        with clock.frozen_at(start + timedelta(days=1)):
            digests = claim_digests(10, lease_seconds=300)
            send_digests(digests)
    [digest] = Digest.objects.all()
    assert (digest.status, digest.attempts, digest.throttles, digest.last_error) == (
        "pending",
        0,
        1,
        f"SMTPDataError: {RATE_LIMIT_REPLY}",
    )
    assert list(Notification.objects.values_list("status", flat=True)) == ["held", "held"]
    assert relay.handler.arrivals == []
