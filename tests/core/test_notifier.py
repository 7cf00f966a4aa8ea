"""The Notifier: one class declares a type, its channels and their timing, its recipients and its
message; ``deliver()`` writes it with ``notify()`` (spire_notify.notifier)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils.translation import get_language

from spire_notify import Channel, Message, Notifier, clock
from spire_notify import notification_types as types
from spire_notify.models import Notification
from spire_notify.notification_types import all_types, get_type, lookup
from spire_notify.preferences import get_preference, set_preference
from spire_notify.testing import isolated_notifiers
from tests.support.delivery_harness import DUMMY_TASKS

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TEN_MINUTES = timedelta(minutes=10)


@pytest.fixture(autouse=True)
def _isolated():
    with isolated_notifiers(), override_settings(TASKS=DUMMY_TASKS):
        yield
    clock.reset()


def export_ready(**attributes):
    """A Notifier class like a project's, declared for one test."""

    class ExportReady(Notifier):
        key = "exports.ready"
        name = "Export ready"
        description = "An export you asked for finished."
        channels = [
            Channel("app"),
            Channel("email", wait=TEN_MINUTES, unless="read"),
        ]

        def __init__(self, audience, rows=12):
            self.audience = audience
            self.rows = rows

        def recipients(self):
            return self.audience

        def message(self):
            return Message(
                event=self.key, title=f"Your export of {self.rows} rows is ready", path="/exports/1/"
            )

    for name, value in attributes.items():
        setattr(ExportReady, name, value)
    return ExportReady


# The type it declares


def test_a_notifier_declares_its_type_with_its_channels_as_defaults():
    export_ready()
    declared = get_type("exports.ready")
    assert (declared.name, declared.description) == ("Export ready", "An export you asked for finished.")
    assert declared.default_channels == ("app", "email")
    assert not declared.mandatory
    assert "exports.ready" in [each.key for each in all_types()]


@pytest.mark.django_db
def test_preferences_apply_to_a_notifiers_type(make_user):
    export_ready()
    ada = make_user("ada")
    assert get_preference(ada, "exports.ready", "email") == "immediate"
    set_preference(ada, "exports.ready", "email", "off")
    assert get_preference(ada, "exports.ready", "email") == "off"


def test_a_notifier_without_a_key_is_refused_when_its_class_is_created():
    with pytest.raises(
        TypeError, match=r"^Keyless needs a key: the type's key, such as 'billing.invoice_paid'\.$"
    ):

        class Keyless(Notifier):
            pass


def test_an_abstract_notifier_declares_nothing():
    class Base(Notifier):
        abstract = True

    assert Base not in types.declared_notifiers()


def test_channels_must_be_channel_values():
    with pytest.raises(
        TypeError, match=r"^Stringly\.channels holds 'app'; list Channel\(alias, \.\.\.\) values\.$"
    ):

        class Stringly(Notifier):
            key = "s"
            channels = ["app"]


# Channel


def test_unless_read_needs_a_wait():
    with pytest.raises(ValueError, match=r"needs a wait=timedelta\(\.\.\.\) to give them the time\.$"):
        Channel("email", unless="read")


def test_unless_is_read_or_a_callable():
    with pytest.raises(
        ValueError, match=r"""^Channel\('email'\): unless='unread' is neither "read" nor a callable\.$"""
    ):
        Channel("email", wait=TEN_MINUTES, unless="unread")


def test_a_channel_is_an_alias_or_a_deferred_entry():
    assert Channel("app").entry() == "app"
    deferred = Channel("email", wait=TEN_MINUTES, unless="read").entry()
    assert (deferred.channel, deferred.delay, deferred.unless_read) == ("email", TEN_MINUTES, True)
    assert Channel("email", wait=TEN_MINUTES).entry().unless_read is False


# deliver()


@pytest.mark.django_db
def test_deliver_to_a_queryset_writes_the_inbox_now_and_the_email_after_the_wait(make_user):
    ExportReady = export_ready()
    ada, bob = make_user("ada"), make_user("bob")
    with clock.frozen_at(START):
        written = ExportReady(get_user_model().objects.filter(pk__in=[ada.pk, bob.pk])).deliver()
    rows = {(row.user.username, row.channel): Notification.objects.get(pk=row.pk) for row in written}
    assert set(rows) == {("ada", "app"), ("ada", "email"), ("bob", "app"), ("bob", "email")}
    assert rows["ada", "app"].status == "sent"
    assert rows["ada", "email"].status == "pending"
    assert rows["ada", "email"].send_after == START + TEN_MINUTES
    assert rows["ada", "email"].unless_read_id == rows["ada", "app"].pk
    assert rows["ada", "app"].title == "Your export of 12 rows is ready"


@pytest.mark.django_db
def test_deliver_a_plain_audience_on_plain_channels_is_written_by_the_database(make_user):
    ExportReady = export_ready(channels=[Channel("app"), Channel("email")])
    make_user("ada")
    written = ExportReady(get_user_model().objects.all()).deliver()
    # The audience path answers with a lazy QuerySet of what it wrote.
    assert isinstance(written, type(Notification.objects.all()))
    assert sorted(written.values_list("channel", flat=True)) == ["app", "email"]


@pytest.mark.django_db
def test_a_mapping_names_each_recipients_channels_with_the_notifiers_timing(make_user):
    ada, bob = make_user("ada"), make_user("bob")
    ExportReady = export_ready(recipients=lambda self: {ada: ["app", "email"], bob: ["app"]})
    with clock.frozen_at(START):
        written = ExportReady(None).deliver()
    assert sorted((row.user.username, row.channel, row.send_after) for row in written) == [
        ("ada", "app", START),
        ("ada", "email", START + TEN_MINUTES),
        ("bob", "app", START),
    ]


@pytest.mark.django_db
def test_a_mapping_that_names_a_channel_the_notifier_lacks_is_an_error_and_writes_nothing(make_user):
    ada = make_user("ada")
    ExportReady = export_ready(recipients=lambda self: {ada: ["app", "pager"]})
    with pytest.raises(ValueError) as raised:
        ExportReady(None).deliver()
    assert str(raised.value) == (
        "ExportReady.recipients() names the channel 'pager', which is not one of its channels "
        "(app, email). Add Channel('pager') to its channels."
    )
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_audiences_each_get_their_channels_and_nobody_gets_one_twice(make_user):
    User = get_user_model()
    ada, bob = make_user("ada"), make_user("bob", is_staff=True)
    ExportReady = export_ready(
        channels=[Channel("app"), Channel("email")],
        recipients=lambda self: {User.objects.all(): ["app"], User.objects.filter(is_staff=True): ["email"]},
    )
    written = ExportReady(None).deliver()
    assert sorted((row.user.username, row.channel) for row in written) == [
        ("ada", "app"),
        ("bob", "app"),
        ("bob", "email"),
    ]
    assert ada.pk != bob.pk


@pytest.mark.django_db
def test_audiences_with_an_escalation_tie_each_email_to_the_same_users_inbox_row(make_user):
    User = get_user_model()
    ada, bob = make_user("ada"), make_user("bob", is_staff=True)
    ExportReady = export_ready(
        recipients=lambda self: {User.objects.all(): ["app"], User.objects.filter(is_staff=True): ["email"]},
    )
    with clock.frozen_at(START):
        written = ExportReady(None).deliver()
    rows = {(row.user.username, row.channel): row for row in written}
    assert set(rows) == {("ada", "app"), ("bob", "app"), ("bob", "email")}
    assert rows["bob", "email"].send_after == START + TEN_MINUTES
    assert rows["bob", "email"].unless_read_id == rows["bob", "app"].pk
    assert ada.pk != bob.pk


@pytest.mark.django_db
def test_a_channel_under_two_audiences_is_refused(make_user):
    User = get_user_model()
    ExportReady = export_ready(
        recipients=lambda self: {
            User.objects.all(): ["app"],
            User.objects.filter(is_staff=True): ["app", "email"],
        }
    )
    with pytest.raises(
        ValueError, match=r"names 'app' for two audiences; a user in both would get it twice\."
    ):
        ExportReady(None).deliver()


@pytest.mark.django_db
def test_the_message_is_of_the_notifiers_key(make_user):
    ExportReady = export_ready(message=lambda self: Message(event="exports.redy", title="Ready"))
    make_user("ada")
    with pytest.raises(ValueError) as raised:
        ExportReady(get_user_model().objects.all()).deliver()
    assert str(raised.value) == (
        "ExportReady.message() built a message of event 'exports.redy'; its messages are of its key, "
        "'exports.ready': Message(event=self.key, ...)."
    )
    assert not Notification.objects.exists()


def test_the_channels_template_is_the_messages():
    ExportReady = export_ready(
        channels=[Channel("app"), Channel("email", template="spire_notify/email/notification.html")]
    )
    assert ExportReady(None).build_message().template == "spire_notify/email/notification.html"


@pytest.mark.django_db
def test_the_message_is_built_in_each_recipients_language(make_user):
    ada, bob = make_user("ada", first_name="fr"), make_user("bob", first_name="de")
    ExportReady = export_ready(
        message=lambda self: Message(event=self.key, title=f"ready ({get_language()})"),
        recipients=lambda self: {ada: ["app"], bob: ["app"]},
    )
    with override_settings(NOTIFY_RECIPIENT_LANGUAGE=f"{__name__}.language_of"):
        written = ExportReady(None).deliver()
    assert sorted((row.user.username, row.title) for row in written) == [
        ("ada", "ready (fr)"),
        ("bob", "ready (de)"),
    ]


def language_of(user):
    return user.first_name


# Swapping a Notifier with NOTIFY_NOTIFIERS


@pytest.mark.django_db
def test_a_subclass_named_in_the_setting_sends_the_key_with_its_own_channels(make_user):
    ExportReady = export_ready()

    class AppOnly(ExportReady):
        channels = [Channel("app")]

    assert types.active_notifier("exports.ready") is ExportReady
    globals()["AppOnly_for_test"] = AppOnly
    try:
        with override_settings(NOTIFY_NOTIFIERS={"exports.ready": f"{__name__}.AppOnly_for_test"}):
            assert types.active_notifier("exports.ready") is AppOnly
            assert lookup("exports.ready").default_channels == ("app",)
        assert lookup("exports.ready").default_channels == ("app", "email")
    finally:
        del globals()["AppOnly_for_test"]


def test_a_setting_that_names_another_class_is_refused():
    export_ready()
    with override_settings(NOTIFY_NOTIFIERS={"exports.ready": "spire_notify.message.Message"}):
        with pytest.raises(ImproperlyConfigured) as raised:
            types.active_notifier("exports.ready")
    assert str(raised.value) == (
        "NOTIFY_NOTIFIERS['exports.ready'] = 'spire_notify.message.Message' is not a Notifier of the key "
        "'exports.ready': subclass the Notifier it replaces and keep its key."
    )
