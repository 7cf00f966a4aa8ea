"""Preferences: per user (or guest address) × type × channel, defaults from the type, mandatory
types that cannot be switched off, and the bulk answers notify() uses, in one query."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from spire_notify import notification_types
from spire_notify.exceptions import MandatoryNotificationType, UnknownChannel, UnknownNotificationType
from spire_notify.message import Recipient
from spire_notify.models import DeliveryMode, NotificationPreference
from spire_notify.preferences import (
    get_preference,
    mode_expression,
    modes_for,
    set_preference,
    without_opted_out,
)

pytestmark = pytest.mark.django_db

NEW = "helpdesk.ticket.new"


@pytest.fixture
def app_only_digest():
    notification_types.register(
        "reports.weekly", name="Weekly report", default_channels=["app"], optional_channels=["email"]
    )
    yield "reports.weekly"
    notification_types.unregister("reports.weekly")


def test_the_default_comes_from_the_type(requester, app_only_digest):
    assert get_preference(requester, NEW, "email") == "immediate"
    assert get_preference(requester, app_only_digest, "app") == "immediate"
    assert get_preference(requester, app_only_digest, "email") == "off"


def test_set_then_get_per_user_type_and_channel(requester, developer):
    set_preference(requester, NEW, "email", "off")
    assert get_preference(requester, NEW, "email") == "off"
    assert get_preference(requester, NEW, "app") == "immediate"
    assert get_preference(requester, "helpdesk.ticket.update", "email") == "immediate"
    assert get_preference(developer, NEW, "email") == "immediate"
    set_preference(requester, NEW, "email", "immediate")
    assert get_preference(requester, NEW, "email") == "immediate"
    assert NotificationPreference.objects.count() == 1


def test_a_guest_is_known_by_address_whatever_its_case(requester):
    set_preference("Guest@Example.org", NEW, "email", "off")
    assert get_preference("guest@example.org", NEW, "email") == "off"
    assert get_preference(Recipient(user_id=None, email="GUEST@example.org"), NEW, "email") == "off"
    row = NotificationPreference.objects.get()
    assert (row.user, row.email) == (None, "guest@example.org")
    # A user with that address is someone else: their own choices count.
    assert get_preference(requester, NEW, "email") == "immediate"


def test_a_mandatory_type_ignores_off(requester, security_notice):
    NotificationPreference.objects.create(
        user=requester, type_key=security_notice, channel="email", mode="off"
    )
    assert get_preference(requester, security_notice, "email") == "immediate"
    with pytest.raises(MandatoryNotificationType) as raised:
        set_preference(requester, security_notice, "email", "off")
    assert (
        str(raised.value)
        == "The notification type 'accounts.security' is mandatory; it cannot be switched off."
    )
    set_preference(requester, security_notice, "email", "immediate")


def test_unknown_type_channel_or_mode_is_a_clear_error(requester):
    with pytest.raises(UnknownNotificationType):
        set_preference(requester, "nope", "email", "off")
    with pytest.raises(UnknownNotificationType):
        get_preference(requester, "nope", "email")
    with pytest.raises(UnknownChannel, match=r"^NOTIFY_BACKENDS has no backend 'sms'\.$"):
        set_preference(requester, NEW, "sms", "off")
    with pytest.raises(ValueError, match=r"^Unknown mode 'never'; choose one of: immediate, off, digest\.$"):
        set_preference(requester, NEW, "email", "never")
    assert not NotificationPreference.objects.exists()


def test_a_row_has_exactly_one_owner(requester):
    with pytest.raises(IntegrityError), transaction.atomic():
        NotificationPreference.objects.create(
            user=requester, email="x@example.org", type_key=NEW, channel="app", mode="off"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        NotificationPreference.objects.create(user=None, email="", type_key=NEW, channel="app", mode="off")


def test_one_row_per_owner_type_and_channel(requester):
    NotificationPreference.objects.create(user=requester, type_key=NEW, channel="app", mode="off")
    NotificationPreference.objects.create(email="g@example.org", type_key=NEW, channel="app", mode="off")
    for owner in [{"user": requester}, {"email": "g@example.org"}]:
        with pytest.raises(IntegrityError), transaction.atomic():
            NotificationPreference.objects.create(**owner, type_key=NEW, channel="app", mode="immediate")


def test_modes_for_many_recipients_takes_one_query(make_user, app_only_digest):
    users = [make_user(f"user{index}") for index in range(12)]
    set_preference(users[0], NEW, "email", "off")
    set_preference(users[1], NEW, "app", "off")
    set_preference("guest@example.org", NEW, "email", "off")
    guest = "Guest@Example.org"
    with CaptureQueriesContext(connection) as queries:
        modes = modes_for(NEW, [*users, guest, "other@example.org"], ["app", "email"])
    assert len(queries) == 1
    assert modes[users[0], "email"] == modes[users[1], "app"] == modes[guest, "email"] == "off"
    assert (
        modes[users[0], "app"]
        == modes[users[2], "email"]
        == modes["other@example.org", "email"]
        == "immediate"
    )
    assert len(modes) == 14 * 2


def test_modes_for_needs_no_query_for_unregistered_or_mandatory_types(requester, security_notice):
    set_preference(requester, NEW, "email", "off")
    with CaptureQueriesContext(connection) as queries:
        assert modes_for("made.up", [requester], ["email"]) == {(requester, "email"): "immediate"}
        assert modes_for(security_notice, [requester], ["email"]) == {(requester, "email"): "immediate"}
        assert modes_for(NEW, [], ["email"]) == {}
    assert len(queries) == 0


def test_without_opted_out_drops_switched_off_channels_in_one_query(requester, developer, manager):
    set_preference(requester, NEW, "email", "off")
    set_preference(manager, NEW, "app", "off")
    set_preference("gone@example.org", NEW, "email", "off")
    recipients = {
        requester: ["app", "email"],
        developer: ["app", "email", "email"],
        manager: ["app"],
        "gone@example.org": ["email"],
        "stays@example.org": ["email"],
    }
    with CaptureQueriesContext(connection) as queries:
        kept = without_opted_out(NEW, recipients)
    assert len(queries) == 1
    assert kept == {requester: ["app"], developer: ["app", "email"], "stays@example.org": ["email"]}


@pytest.mark.parametrize(
    ("type_key", "channel", "expected"),
    [
        (NEW, "email", ["dev", "manager"]),
        (NEW, "app", ["dev", "manager", "requester"]),
        ("reports.weekly", "email", ["manager"]),
        ("reports.weekly", "app", ["dev", "manager", "requester"]),
        ("made.up", "email", ["dev", "manager", "requester"]),
    ],
)
def test_mode_expression_filters_users_inside_sql(
    requester, developer, manager, app_only_digest, type_key, channel, expected
):
    set_preference(requester, NEW, "email", "off")
    set_preference(manager, "reports.weekly", "email", "immediate")
    receiving = (
        get_user_model()
        .objects.alias(mode=mode_expression(type_key, channel))
        .exclude(mode=DeliveryMode.OFF)
        .order_by("username")
    )
    assert list(receiving.values_list("username", flat=True)) == expected


def test_mode_expression_of_a_mandatory_type_is_immediate(requester, security_notice):
    NotificationPreference.objects.create(
        user=requester, type_key=security_notice, channel="email", mode="off"
    )
    modes = get_user_model().objects.annotate(mode=mode_expression(security_notice, "email"))
    assert list(modes.values_list("mode", flat=True)) == ["immediate"]
