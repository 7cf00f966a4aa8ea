"""Claims: what is ready, what a claim stamps, leases, hand-backs and give-ups."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from spire_notify.models import Notification
from spire_notify.worker.claims import (
    ABANDONED_ON_LAST_ATTEMPT,
    claim_batch,
    count_ready,
    due_q,
    give_up_abandoned,
    release_claim,
    renew_lease,
    resume_point,
)
from tests.support.delivery_harness import postgres_only

pytestmark = pytest.mark.django_db


@pytest.fixture
def row(make_user):
    user = make_user("ada")

    def make(**fields):
        return Notification.objects.create(user=user, channel="app", title="t", **fields)

    return make


def test_only_due_rows_and_expired_leases_are_ready(row):
    now = timezone.now()
    hour = timedelta(hours=1)
    ready = {
        row(status="pending").pk,
        row(status="errored", next_attempt_at=now - hour).pk,
        row(status="processing", lease_expires_at=now - hour).pk,
    }
    row(status="pending", send_after=now + hour, next_attempt_at=now + hour)
    row(status="errored", next_attempt_at=now + hour)
    row(status="processing", lease_expires_at=now + hour)
    row(status="sent")
    row(status="failed")
    assert count_ready() == 3
    assert {claimed.pk for claimed in claim_batch(100, lease_seconds=60)} == ready
    assert count_ready() == 0


def test_a_claim_stamps_token_lease_and_attempt_on_at_most_size_rows(row):
    rows = [row(attempts=attempts) for attempts in (0, 2, 0)]
    before = timezone.now()
    batch = claim_batch(2, lease_seconds=90)
    assert [claimed.pk for claimed in batch] == [rows[0].pk, rows[1].pk]
    assert {claimed.status for claimed in batch} == {"processing"}
    assert [claimed.attempts for claimed in batch] == [1, 3]
    assert len({claimed.claimed_by for claimed in batch}) == 1
    for claimed in batch:
        assert (
            before + timedelta(seconds=90)
            <= claimed.lease_expires_at
            <= timezone.now() + timedelta(seconds=90)
        )
    assert claim_batch(2, lease_seconds=90)[0].claimed_by != batch[0].claimed_by


def test_renewing_a_lease_keeps_only_the_rows_still_held(row):
    row(), row()
    batch = claim_batch(10, lease_seconds=1)
    Notification.objects.filter(pk=batch[0].pk).update(claimed_by="another-worker")
    assert renew_lease(batch, lease_seconds=300) == [batch[1]]
    batch[1].refresh_from_db()
    assert batch[1].lease_expires_at > timezone.now() + timedelta(seconds=200)


def test_a_released_claim_is_ready_again_with_its_attempt_given_back(row):
    first_try, retry = row(), row(status="errored", attempts=2)
    token = claim_batch(10, lease_seconds=60)[0].claimed_by
    assert release_claim(token, reason="ImproperlyConfigured: no key") == 2
    assert set(Notification.objects.values_list("pk", "status", "attempts", "claimed_by", "last_error")) == {
        (first_try.pk, "pending", 0, "", "ImproperlyConfigured: no key"),
        (retry.pk, "errored", 2, "", "ImproperlyConfigured: no key"),
    }
    assert count_ready() == 2


def test_rows_abandoned_on_their_last_attempt_are_given_up_not_claimed(row):
    expired = timezone.now() - timedelta(seconds=1)
    last = row(status="processing", attempts=5, lease_expires_at=expired)
    earlier = row(status="processing", attempts=4, lease_expires_at=expired)
    assert [given_up.pk for given_up in give_up_abandoned(max_attempts=5)] == [last.pk]
    last.refresh_from_db()
    assert (last.status, last.last_error, last.lease_expires_at) == (
        "failed",
        ABANDONED_ON_LAST_ATTEMPT,
        None,
    )
    assert [claimed.pk for claimed in claim_batch(10, lease_seconds=60)] == [earlier.pk]
    assert give_up_abandoned(max_attempts=5) == []


@pytest.mark.postgres
@postgres_only
def test_on_postgresql_the_claim_skips_rows_other_workers_have_locked(row):
    row()
    with CaptureQueriesContext(connection) as queries:
        claim_batch(10, lease_seconds=60)
    claims = [query["sql"] for query in queries if query["sql"].startswith("UPDATE")]
    assert len(claims) == 2  # abandoned rows, then due ones
    for claim in claims:
        assert "FOR UPDATE SKIP LOCKED" in claim
        assert claim.index("FOR UPDATE SKIP LOCKED") > claim.index("IN (SELECT")


@pytest.mark.postgres
@postgres_only
def test_on_postgresql_the_due_claim_reads_the_partial_index_in_order(row):
    row()
    due = Notification.objects.filter(due_q(timezone.now())).order_by("next_attempt_at", "pk")
    with connection.cursor() as cursor:
        # A tiny table would be scanned anyway, or read through a bitmap of the index and sorted
        # (which statistics left by the tests before this one can make cheaper): what is checked
        # is that an index scan reads the rows in the claim's order.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        plan = due.values("pk")[:100].explain()
    assert "spire_notify_due_idx" in plan
    assert "Sort" not in plan


def test_a_resumed_claim_starts_after_the_last_row_taken(row):
    now = timezone.now()
    rows = [row(next_attempt_at=now - timedelta(minutes=5 - index)) for index in range(5)]
    first = claim_batch(2, lease_seconds=60)
    assert [claimed.pk for claimed in first] == [rows[0].pk, rows[1].pk]
    late_but_early = row(next_attempt_at=now - timedelta(hours=1))
    resumed = claim_batch(2, lease_seconds=60, after=resume_point(first))
    assert [claimed.pk for claimed in resumed] == [rows[2].pk, rows[3].pk]
    # From the start again, the row due before the resume point is found.
    assert {claimed.pk for claimed in claim_batch(5, lease_seconds=60)} == {late_but_early.pk, rows[4].pk}


def test_a_claim_returns_its_rows_without_reading_them_back_by_token(row, django_assert_num_queries):
    row(), row()
    # Abandoned rows (none), due rows, then the claimed rows by the pks the UPDATE returned.
    with django_assert_num_queries(3):
        batch = claim_batch(10, lease_seconds=60)
    assert len(batch) == 2


def test_the_claims_read_their_partial_indexes_on_sqlite_too(row):
    """SQLite uses a partial index only when the query repeats its condition as literals."""
    if connection.vendor != "sqlite":
        pytest.skip("the plan of SQLite")
    first = row()
    Notification.objects.bulk_create(
        Notification(user_id=first.user_id, channel="app", title="t", status="sent") for _ in range(500)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # statistics of a table mostly delivered, as a drain leaves it
    with CaptureQueriesContext(connection) as queries:
        claim_batch(10, lease_seconds=60, channels=["app"], after=(timezone.now(), 0))
    claims = [query["sql"] for query in queries if query["sql"].startswith("UPDATE")]
    plans = []
    with connection.cursor() as cursor:
        for claim in claims:
            select = claim[claim.index("IN (SELECT") + 4 : claim.rindex(") RETURNING")]
            cursor.execute("EXPLAIN QUERY PLAN " + select)
            plans.append(" ".join(str(step[3]) for step in cursor.fetchall()))
    assert "USING INDEX spire_notify_leased_idx" in plans[0], plans
    assert "USING INDEX spire_notify_due_idx" in plans[1], plans
    assert "TEMP B-TREE" not in plans[1], plans
