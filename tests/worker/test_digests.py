"""Digests in one process: held rows, windows, one email per user and channel, exactly once
against a digest being built, leaving digest mode, failures, and the template (Django and
Jinja2, autoescaped). Real workers and an SMTP server: tests/worker/test_timing_worker.py."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spire_notify import Deferred, Message, clock, notification_types, notify
from spire_notify.channels.app.models import AppNotification
from spire_notify.channels.email.backend import EmailBackend
from spire_notify.message import Recipient
from spire_notify.models import Digest, Notification
from spire_notify.preferences import SWITCHED_OFF, get_preference, set_preference
from spire_notify.store.held import window_end
from spire_notify.unsubscribe import unsubscribe_url
from spire_notify.worker.digests import NOTHING_LEFT, claim_digests, send_digests
from spire_notify.worker.process import process_notifications
from spire_notify.worker.skips import READ_BEFORE_DIGEST
from tests.support.delivery_harness import DUMMY_TASKS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_digest_types")]

DAY = timedelta(days=1)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the window ends at midnight UTC
MIDNIGHT = datetime(2026, 3, 3, tzinfo=UTC)


@pytest.fixture
def _digest_types():
    notification_types.register("shop.order", name="Orders", default_channels=["app", "email"])
    notification_types.register("shop.review", name="Reviews", default_channels=["app", "email"])
    with override_settings(TASKS=DUMMY_TASKS):
        yield
    notification_types.unregister("shop.order")
    notification_types.unregister("shop.review")
    clock.reset()


def order(number, event="shop.order"):
    return Message(
        event=event, title=f"Order #{number}", body=f"Order {number} was paid", path=f"/o/{number}/"
    )


@pytest.fixture
def digest_user(make_user):
    user = make_user("ada", first_name="Ada")
    set_preference(user, "shop.order", "email", "digest")
    set_preference(user, "shop.review", "email", "digest")
    return user


def test_the_window_ends_on_the_interval_counted_from_the_epoch():
    assert window_end(START) == MIDNIGHT
    assert window_end(MIDNIGHT) == MIDNIGHT + DAY
    with override_settings(NOTIFY_DIGEST_INTERVAL=3600):
        assert window_end(START + timedelta(minutes=30)) == START + timedelta(hours=1)


def test_digest_rows_are_written_held_until_the_window_ends_and_in_app_rows_as_usual(digest_user):
    with clock.frozen_at(START):
        rows = {row.channel: row for row in notify(order(1), {digest_user: ["app", "email"]})}
    assert (rows["app"].status, rows["email"].status) == ("sent", "held")
    assert rows["email"].send_after == MIDNIGHT


def test_three_items_in_a_window_make_one_email_listing_all_three_newest_first(digest_user):
    with clock.frozen_at(START):
        for number in (1, 2, 3):
            notify(order(number), {digest_user: ["email"]})
            clock.advance(60)
        assert process_notifications()["sent"] == 0
        clock.advance(MIDNIGHT - clock.now())
        assert process_notifications()["sent"] == 3
        assert process_notifications()["sent"] == 0
    [email] = mail.outbox
    assert email.to == ["ada@example.com"]
    assert email.subject == "New notifications: 3"
    assert email.body.index("Order #3") < email.body.index("Order #2") < email.body.index("Order #1")
    assert "https://example.com/o/2/" in email.body
    html = email.alternatives[0].content
    assert '<a href="https://example.com/o/1/"' in html
    [digest] = Digest.objects.all()
    assert (digest.status, digest.user_id, digest.channel) == ("sent", digest_user.pk, "email")
    assert email.extra_headers["Message-ID"] == f"<digest.{digest.pk}@example.com>"
    held = Notification.objects.filter(channel="email")
    assert {(row.status, row.digest_id) for row in held} == {("sent", digest.pk)}


def test_items_are_grouped_by_type_with_the_registry_names(digest_user):
    with clock.frozen_at(START):
        notify(order(1), {digest_user: ["email"]})
        clock.advance(60)
        notify(order(2, event="shop.review"), {digest_user: ["email"]})
        clock.advance(DAY)
        process_notifications()
    body = mail.outbox[0].body
    assert body.index("Reviews") < body.index("Order #2") < body.index("Orders") < body.index("Order #1")


def test_one_email_per_user_and_the_others_are_unaffected(digest_user, make_user):
    bob = make_user("bob")
    with clock.frozen_at(START):
        notify(order(1), {digest_user: ["email"], bob: ["email"]})
        notify(order(2), {digest_user: ["email"], bob: ["email"]})
        assert process_notifications()["sent"] == 2  # bob's, at once
        clock.advance(DAY)
        assert process_notifications()["sent"] == 2  # ada's two, in one digest
    assert sorted(message.to[0] for message in mail.outbox) == [
        "ada@example.com",
        "bob@example.com",
        "bob@example.com",
    ]


def test_an_item_arriving_while_a_digest_is_built_goes_in_the_next_one(digest_user):
    with clock.frozen_at(START):
        notify(order(1), {digest_user: ["email"]})
        clock.advance(DAY)
        [digest] = claim_digests(10, lease_seconds=300)
        [late] = notify(order(2), {digest_user: ["email"]})
        send_digests([digest])
        assert Notification.objects.get(pk=late.pk).status == "held"
        assert Notification.objects.get(pk=late.pk).digest_id is None
        clock.advance(DAY)
        process_notifications()
    first, second = mail.outbox
    assert "Order #1" in first.body and "Order #2" not in first.body
    assert "Order #2" in second.body and "Order #1" not in second.body


def test_a_second_claim_while_one_digest_is_open_gets_nothing(digest_user):
    with clock.frozen_at(START):
        notify(order(1), {digest_user: ["email"]})
        clock.advance(DAY)
        # A lease longer than the next window: the first digest is still out when it ends.
        assert len(claim_digests(10, lease_seconds=3 * DAY.total_seconds())) == 1
        notify(order(2), {digest_user: ["email"]})
        clock.advance(DAY)
        # The new item waits for the open digest: never a second one open for the same user.
        assert claim_digests(10, lease_seconds=300) == []


def test_an_abandoned_digest_is_sent_by_the_next_worker_with_the_same_items(digest_user):
    with clock.frozen_at(START):
        notify(order(1), {digest_user: ["email"]})
        clock.advance(DAY)
        [abandoned] = claim_digests(10, lease_seconds=300)  # the worker dies here
        notify(order(2), {digest_user: ["email"]})
        clock.advance(301)
        assert process_notifications()["sent"] == 1
        assert process_notifications()["sent"] == 0
        clock.advance(DAY)
        assert process_notifications()["sent"] == 1
    assert [message.extra_headers["Message-ID"] for message in mail.outbox][0] == (
        f"<digest.{abandoned.pk}@example.com>"
    )
    assert Digest.objects.get(pk=abandoned.pk).attempts == 2
    assert len(mail.outbox) == 2


def test_switching_back_to_immediate_sends_what_is_held_in_one_final_digest(digest_user):
    with clock.frozen_at(START):
        notify(order(1), {digest_user: ["email"]})
        notify(order(2), {digest_user: ["email"]})
        notify(order(3, event="shop.review"), {digest_user: ["email"]})
        set_preference(digest_user, "shop.order", "email", "immediate")
        assert process_notifications()["sent"] == 2
        [final] = mail.outbox
        assert "Order #1" in final.body and "Order #2" in final.body and "Order #3" not in final.body
        notify(order(4), {digest_user: ["email"]})  # immediate now: sent on its own
        assert process_notifications()["sent"] == 1
        clock.advance(DAY)
        assert process_notifications()["sent"] == 1  # the review, in its own window's digest
    assert [email.subject for email in mail.outbox] == [
        "New notifications: 2",
        "Order #4",
        "New notifications: 1",
    ]
    assert Notification.objects.filter(status="held").count() == 0


def one_click_unsubscribe(client, user, type_key):
    url = unsubscribe_url(user, type_key, "email", domain="example.com")
    assert client.post(urlsplit(url).path, {"List-Unsubscribe": "One-Click"}).status_code == 200


def test_switching_off_sends_no_last_digest_and_what_is_held_ends_skipped(client, digest_user):
    with clock.frozen_at(START):
        held = [row for number in (1, 2) for row in notify(order(number), {digest_user: ["email"]})]
        notify(order(3, event="shop.review"), {digest_user: ["email"]})
        one_click_unsubscribe(client, digest_user, "shop.order")
        assert get_preference(digest_user, "shop.order", "email") == "off"
        assert process_notifications()["sent"] == 0
        assert mail.outbox == []
        clock.advance(DAY)
        assert process_notifications() == {"sent": 1, "errored": 0, "failed": 0, "skipped": 2}
    [review_digest] = mail.outbox
    assert review_digest.subject == "New notifications: 1"
    assert "Order #3" in review_digest.body and "Order #1" not in review_digest.body
    for row in held:
        row.refresh_from_db()
        assert (row.status, row.last_error, row.digest_id) == ("skipped", SWITCHED_OFF, None)


def test_off_then_immediate_before_the_window_ends_sends_the_final_digest(digest_user):
    with clock.frozen_at(START):
        notify(order(1), {digest_user: ["email"]})
        set_preference(digest_user, "shop.order", "email", "off")
        clock.advance(3600)
        set_preference(digest_user, "shop.order", "email", "immediate")
        assert process_notifications()["sent"] == 1
    [final] = mail.outbox
    assert final.subject == "New notifications: 1" and "Order #1" in final.body


def test_a_digest_whose_items_were_all_switched_off_is_skipped_not_sent(digest_user):
    with clock.frozen_at(START):
        notify(order(1), {digest_user: ["email"]})
        set_preference(digest_user, "shop.order", "email", "off")
        clock.advance(DAY)
        assert process_notifications() == {"sent": 0, "errored": 0, "failed": 0, "skipped": 1}
    assert mail.outbox == []
    digest = Digest.objects.get()
    assert (digest.status, digest.last_error) == ("skipped", NOTHING_LEFT)
    assert NOTHING_LEFT == "Skipped: none of its notifications was still to be sent."


def escalate(user, number, **options):
    """The in-app row and a deferred email of one order, as ``{channel: row}``."""
    written = notify(order(number), {user: ["app", Deferred("email", timedelta(minutes=10), **options)]})
    return {row.channel: row for row in written}


def read(*in_app_rows):
    AppNotification.objects.of(
        Notification.objects.filter(pk__in=[row.pk for row in in_app_rows])
    ).mark_read()


def test_a_held_deferred_email_is_tied_to_its_in_app_row_unless_told_not_to(digest_user):
    with clock.frozen_at(START):
        tied, untied = escalate(digest_user, 1), escalate(digest_user, 2, unless_read=False)
    assert (tied["email"].status, tied["email"].unless_read_id) == ("held", tied["app"].pk)
    assert (untied["email"].status, untied["email"].unless_read_id) == ("held", None)


def test_an_item_read_in_the_app_leaves_the_digest(digest_user):
    with clock.frozen_at(START):
        first, second, third = (escalate(digest_user, number) for number in (1, 2, 3))
        clock.advance(3600)
        read(second["app"])
        clock.advance(MIDNIGHT - clock.now())
        assert process_notifications() == {"sent": 2, "errored": 0, "failed": 0, "skipped": 1}
    [digest_email] = mail.outbox
    assert digest_email.subject == "New notifications: 2"
    assert "Order #3" in digest_email.body and "Order #1" in digest_email.body
    assert "Order #2" not in digest_email.body
    left_out = Notification.objects.get(pk=second["email"].pk)
    assert (left_out.status, left_out.last_error, left_out.digest_id) == ("skipped", READ_BEFORE_DIGEST, None)
    assert READ_BEFORE_DIGEST == "Skipped: read in the app before its digest was sent."
    carried = Notification.objects.filter(pk__in=[first["email"].pk, third["email"].pk])
    assert {(row.status, row.digest_id) for row in carried} == {("sent", Digest.objects.get().pk)}


def test_no_digest_is_sent_when_every_item_was_read(digest_user):
    with clock.frozen_at(START):
        rows = [escalate(digest_user, number) for number in (1, 2)]
        read(*(row["app"] for row in rows))
        clock.advance(DAY)
        assert process_notifications() == {"sent": 0, "errored": 0, "failed": 0, "skipped": 2}
    assert mail.outbox == []
    assert Digest.objects.get().status == "skipped"
    emails = Notification.objects.filter(channel="email")
    assert {(row.status, row.last_error) for row in emails} == {("skipped", READ_BEFORE_DIGEST)}


@pytest.mark.parametrize(
    ("code", "status", "item_status"), [(451, "errored", "held"), (550, "failed", "failed")]
)
def test_a_digest_that_cannot_be_sent_is_retried_or_failed_with_its_items(
    digest_user, code, status, item_status
):
    from tests.support.delivery_harness import SmtpSink

    with clock.frozen_at(START):
        notify(order(1), {digest_user: ["email"]})
        clock.advance(DAY)
        with SmtpSink(refuse={"ada@example.com": f"{code} Not now"}) as sink:
            with override_settings(**sink.mail_settings(timeout=5)):
                process_notifications()
    digest = Digest.objects.get()
    assert digest.status == status
    assert str(code) in digest.last_error
    assert set(Notification.objects.filter(channel="email").values_list("status", flat=True)) == {item_status}


def test_a_deactivated_user_gets_no_digest(digest_user):
    with clock.frozen_at(START):
        notify(order(1), {digest_user: ["email"]})
        digest_user.is_active = False
        digest_user.save()
        clock.advance(DAY)
        assert process_notifications()["skipped"] == 1
    assert mail.outbox == []
    assert Digest.objects.get().status == "skipped"
    assert Notification.objects.get(channel="email").status == "skipped"


def test_digest_mode_is_refused_on_a_channel_that_sends_no_digests(make_user):
    with pytest.raises(
        ValueError, match=r"The channel 'app' sends no digests; choose 'immediate' or 'off'\."
    ):
        set_preference(make_user("ada"), "shop.order", "app", "digest")


def test_a_guest_is_never_held(digest_user):
    set_preference("guest@example.org", "shop.order", "email", "digest")
    [row] = notify(order(1), {"guest@example.org": ["email"]})
    assert row.status == "pending"


def test_the_preferences_page_offers_digest_on_email_only(client, digest_user):
    client.force_login(digest_user)
    page = client.get("/notifications/preferences/").content.decode()
    registered = len(notification_types.all_types())
    assert page.count('<option value="immediate"') == 2 * registered  # app and email
    assert page.count('<option value="digest"') == registered  # email only
    assert page.count('<option value="digest" selected>') == 2
    response = client.post(
        "/notifications/preferences/", {"shop.order:email": "immediate", "shop.order:app": "digest"}
    )
    assert response.status_code == 302
    assert get_preference(digest_user, "shop.order", "email") == "immediate"
    assert get_preference(digest_user, "shop.order", "app") == "immediate"


def make_items(digest_user, titles):
    items = []
    for number, title in enumerate(titles):
        message = Message(event="shop.order", title=title, body=f"{title} body", path=f"/o/{number}/")
        items.append(
            Notification(
                user=digest_user,
                channel="email",
                title=title,
                event="shop.order",
                payload=message.to_payload(),
                created_at=START,
            )
        )
    return items


@pytest.mark.parametrize("engine", [None, "jinja2"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(titles=st.lists(st.text(min_size=1, max_size=40).filter(str.strip), min_size=1, max_size=4))
def test_the_digest_template_escapes_what_items_carry_in_both_engines(digest_user, engine, titles):
    from django.utils.html import escape
    from markupsafe import escape as jinja2_escape

    escape = jinja2_escape if engine == "jinja2" else escape
    backend = EmailBackend(alias="email", engine=engine, inliner=None)
    rendered = backend.render_digest(make_items(digest_user, titles), Recipient.for_user(digest_user))
    html = rendered.content.alternatives[0].content
    for title in titles:
        assert str(escape(title)) in html
        assert title in rendered.content.body


@pytest.mark.parametrize("engine", [None, "jinja2"])
def test_the_digest_is_translated(digest_user, engine):
    backend = EmailBackend(alias="email", engine=engine, inliner=None)
    items = make_items(digest_user, ["Bestellung 1", "Bestellung 2"])
    for item in items:
        item.payload["language"] = "de"
    rendered = backend.render_digest(items, Recipient.for_user(digest_user))
    assert rendered.content.subject == "Neue Benachrichtigungen: 2"
    assert "Hallo Ada," in rendered.content.body


def test_the_admin_filters_held_and_skipped_and_shows_a_rows_digest(admin_client, digest_user):
    with clock.frozen_at(START):
        [row] = notify(order(1), {digest_user: ["email"]})
        clock.advance(DAY)
        process_notifications()
    changelist = admin_client.get("/admin/spire_notify/notification/").content.decode()
    assert "Held for a digest" in changelist and "Skipped" in changelist
    held = admin_client.get("/admin/spire_notify/notification/?status__exact=held").content.decode()
    assert "0 notifications" in held or "Order #1" not in held
    change = admin_client.get(f"/admin/spire_notify/notification/{row.pk}/change/")
    assert change.status_code == 200
    assert f"Digest {Digest.objects.get().pk}" in change.content.decode()
