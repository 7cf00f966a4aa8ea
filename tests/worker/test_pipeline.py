"""The worker's one pipeline (spire_notify.worker.pipeline): what each step hands the next, and
what rows and digests share — leaving out, handing back what was withheld, the outcome's fields.
Rows and digests end to end: tests/test_automations.py and tests/test_digests.py."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.test import override_settings

from spire_notify import Message, clock, notification_types, notify
from spire_notify.backends.base import Delivery, Outcome, Rendered
from spire_notify.helpdesk.models import HelpDeskTicket
from spire_notify.models import DestinationReceipt, Digest, Notification
from spire_notify.preferences import set_preference
from spire_notify.worker.digests import DIGESTS, claim_digests, send_digests
from spire_notify.worker.handover import STOPPING, ClaimKeeper
from spire_notify.worker.pipeline import ending
from spire_notify.worker.rows import ROWS
from spire_notify.worker.targets import load_targets
from tests.support.delivery_harness import DUMMY_TASKS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_order_type")]

DAY = timedelta(days=1)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def _order_type():
    notification_types.register("shop.order", name="Orders", default_channels=["email"])
    with override_settings(TASKS=DUMMY_TASKS, NOTIFY_MAX_ATTEMPTS=3):
        yield
    notification_types.unregister("shop.order")
    clock.reset()


def order(number, target=None):
    return Message(event="shop.order", title=f"Order #{number}", path=f"/o/{number}/", target=target)


@pytest.fixture
def digest_user(make_user):
    user = make_user("ada")
    set_preference(user, "shop.order", "email", "digest")
    return user


def claimed_digest(user, numbers):
    with clock.frozen_at(START):
        for number in numbers:
            notify(order(number), {user: ["email"]})
    with clock.frozen_at(START + DAY):
        [digest] = claim_digests(10, lease_seconds=300)
    return digest


# -- load: targets are handed on, not set on the rows ----------------------------------------


def test_the_load_step_hands_each_rows_target_on_and_sets_nothing_on_the_row(make_user):
    ticket = HelpDeskTicket.objects.create(created_by=make_user("staff"), description="Printer")
    gone = ContentType.objects.create(app_label="removed_app", model="vanished")
    [about, deleted, vanished, none] = notify(
        Message(event="shop.order", title="x", target=ticket), {make_user(n): ["email"] for n in "abcd"}
    )
    Notification.objects.filter(pk=deleted.pk).update(object_id="999999")
    Notification.objects.filter(pk=vanished.pk).update(content_type=gone, object_id="1")
    Notification.objects.filter(pk=none.pk).update(content_type=None, object_id="")
    rows = list(Notification.objects.order_by("pk"))
    targets = load_targets(rows)
    assert [targets.target_of(row) for row in rows] == [ticket, None, None, None]
    assert targets.failures == {
        vanished.pk: Outcome.permanent_failure("the target's model removed_app.vanished no longer exists")
    }
    assert not any(hasattr(row, "target") for row in rows)


# -- parcels: what a kind makes of a claimed batch --------------------------------------------


def test_a_row_is_a_parcel_that_carries_itself(make_user):
    [row] = notify(order(1), {make_user("bob"): ["email"]})
    [parcel] = ROWS.parcels([row], using="default")
    assert (parcel.claimed, parcel.items, parcel.left_out, parcel.pk) == (row, (row,), (), row.pk)


def test_a_digest_is_a_parcel_that_carries_its_items_newest_first_loaded_in_one_query(
    digest_user, django_assert_num_queries
):
    digest = claimed_digest(digest_user, [1, 2, 3])
    with django_assert_num_queries(1):
        [parcel] = DIGESTS.parcels([digest], using="default")
    assert parcel.claimed == digest
    assert [item.title for item in parcel.items] == ["Order #3", "Order #2", "Order #1"]


# -- skip: a row left out ends; a digest goes on without its item ------------------------------


def test_a_row_left_out_ends_with_its_reason_and_a_digest_emptied_is_skipped():
    reason = Outcome.skipped("Skipped: read in the app before the delay.")
    assert ROWS.emptied([(object(), reason)]) == reason
    assert DIGESTS.emptied([(object(), reason)]) == Outcome.skipped(
        "Skipped: none of its notifications was still to be sent."
    )


def test_a_digest_item_whose_target_model_is_gone_is_still_listed(digest_user):
    # A digest lists its items from their payload; a row sent alone fails (test_delivery_faults).
    digest = claimed_digest(digest_user, [1, 2])
    gone = ContentType.objects.create(app_label="removed_app", model="vanished")
    Notification.objects.filter(title="Order #1").update(content_type=gone, object_id="1")
    with clock.frozen_at(START + DAY):
        assert send_digests([digest]) == {"sent": 2}
    [email] = mail.outbox
    assert "Order #1" in email.body and "Order #2" in email.body


# -- hand over and hand back: the claim is on the kind's model --------------------------------


def test_a_digest_withheld_by_a_stopping_worker_is_handed_back_without_spending_an_attempt(digest_user):
    digest = claimed_digest(digest_user, [1])
    with clock.frozen_at(START + DAY):
        assert send_digests([digest], should_stop=lambda: True) == {}
    digest.refresh_from_db()
    assert (digest.status, digest.attempts, digest.claimed_by, digest.lease_expires_at) == (
        "pending",
        0,
        "",
        None,
    )
    assert digest.last_error == STOPPING
    assert list(Notification.objects.values_list("status", "digest_id")) == [("held", digest.pk)]
    assert mail.outbox == []
    with clock.frozen_at(START + DAY):
        [again] = claim_digests(10, lease_seconds=300)
        assert (again.pk, again.attempts) == (digest.pk, 1)
        assert send_digests([again]) == {"sent": 1}


def test_a_backend_is_handed_the_claimed_digest_as_the_deliverys_notification(digest_user):
    digest = claimed_digest(digest_user, [1])
    with clock.frozen_at(START + DAY):
        send_digests([digest])
    # The email backend's Message-ID is made of what it was handed: the digest, not an item.
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<digest.{digest.pk}@example.com>"
    assert Digest.objects.get(pk=digest.pk).status == "sent"


# -- record: one set of fields for an outcome, whichever kind ended --------------------------


def test_the_fields_an_outcome_sets_are_the_same_for_rows_and_digests():
    assert ending(Outcome.success(), attempts=1, throttles=0, now=NOW) == {
        "status": "sent",
        "sent_at": NOW,
        "last_error": "",
        "lease_expires_at": None,
    }
    assert ending(Outcome.skipped("Skipped: off."), attempts=1, throttles=0, now=NOW) == {
        "status": "skipped",
        "last_error": "Skipped: off.",
        "lease_expires_at": None,
    }
    assert (
        ending(Outcome.permanent_failure("550 no such user"), attempts=1, throttles=0, now=NOW)["status"]
        == "failed"
    )
    retried = ending(Outcome.temporary("421 busy"), attempts=1, throttles=0, now=NOW)
    assert (retried["status"], retried["last_error"]) == ("errored", "421 busy")
    assert NOW < retried["next_attempt_at"] <= NOW + timedelta(seconds=60)
    assert ending(Outcome.temporary("421 busy"), attempts=3, throttles=0, now=NOW)["status"] == "failed"


def test_a_digest_keeps_no_destination_receipts_which_are_kept_per_notification(digest_user):
    """Receipts name a notification: a digest's pk must never be written as one."""
    digest = claimed_digest(digest_user, [1])
    delivery = Delivery(notification=digest, rendered=Rendered(body="", url=""), kind="digest")
    keeper = ClaimKeeper([delivery], model=Digest)
    keeper.took(delivery, "a-browser")
    assert keeper.receipts([delivery]) == {}
    assert not DestinationReceipt.objects.exists()
