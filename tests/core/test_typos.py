"""No silent typos in ``notify()``: a channel the caller names is delivered or refused with an
error naming the type and the channel; an unregistered event is a warning (or, by setting, an
error); a template that does not exist is refused when writing. Each on both write paths (a
mapping of recipients, and a ``QuerySet`` written by the database), and nothing written when
it raises. What a recipient decides (no address, a guest on the inbox, a type switched off)
stays a silent skip."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import override_settings

from spire_notify import Deferred, Message, notification_types, notify
from spire_notify.backends.locmem import LocMemBackend
from spire_notify.exceptions import ChannelNotOffered, UnknownChannel, UnknownNotificationType
from spire_notify.models import Notification
from spire_notify.preferences import set_preference

pytestmark = pytest.mark.django_db

INVOICE_PAID = "billing.invoice_paid"
WITH_PAGER = {
    "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
    "email": {"BACKEND": "spire_notify.channels.email.backend.EmailBackend"},
    "pager": {"BACKEND": "spire_notify.backends.locmem.LocMemBackend"},
}
NOT_SENT_ON_PAGER = (
    "notify(): the type 'billing.invoice_paid' is not sent on 'pager'; its channels are: app, email. "
    "List it in the type's channels."
)
UNREGISTERED = (
    "notify(): the event 'billing.invoice.payed' is not a registered notification type, so no "
    "recipient's preference applies to it and nothing sent of it can be unsubscribed from. "
    "Register it with spire_notify.notification_types.register('billing.invoice.payed', ...), "
    "or declare a Notifier whose key is 'billing.invoice.payed'."
)
WARN_HINT = ' NOTIFY_UNKNOWN_EVENTS = "error" refuses such events.'
MISSING_TEMPLATE = (
    "The email template 'billing/email/invoice_payed.html' does not exist in the template engines "
    "'django', 'jinja2'."
)


@pytest.fixture
def invoice_paid():
    notification_types.register(
        INVOICE_PAID, name="Invoice paid", default_channels=["app", "email"], optional_channels=[]
    )
    yield INVOICE_PAID
    notification_types.unregister(INVOICE_PAID)


@pytest.fixture
def invoice_paid_with_optional_pager():
    notification_types.register(
        INVOICE_PAID, name="Invoice paid", default_channels=["app", "email"], optional_channels=["pager"]
    )
    yield INVOICE_PAID
    notification_types.unregister(INVOICE_PAID)


@pytest.fixture
def bob(make_user):
    return make_user("bob")


def paid(**fields):
    return Message(
        **{"event": INVOICE_PAID, "title": "Invoice 2026-001 paid", "path": "/invoices/1/"} | fields
    )


def audience(*users):
    return get_user_model().objects.filter(pk__in=[user.pk for user in users])


# -- a channel the type is not sent on ---------------------------------------------------------


@override_settings(NOTIFY_BACKENDS=WITH_PAGER)
def test_a_channel_the_type_is_not_sent_on_is_refused_on_the_mapping_path(invoice_paid, bob):
    with pytest.raises(ChannelNotOffered) as raised:
        notify(paid(), {bob: ["app", "pager"]})
    assert str(raised.value) == NOT_SENT_ON_PAGER
    assert isinstance(raised.value, ValueError)
    assert not Notification.objects.exists()


@override_settings(NOTIFY_BACKENDS=WITH_PAGER)
def test_a_deferred_channel_the_type_is_not_sent_on_is_refused(invoice_paid, bob):
    with pytest.raises(ChannelNotOffered, match=r"is not sent on 'pager'"):
        notify(paid(), {bob: ["app", Deferred("pager", timedelta(minutes=5))]})
    assert not Notification.objects.exists()


@override_settings(NOTIFY_BACKENDS=WITH_PAGER)
def test_a_channel_the_type_is_not_sent_on_is_refused_on_the_audience_path(invoice_paid, bob):
    with pytest.raises(ChannelNotOffered) as raised:
        notify(paid(), audience(bob), channels=["app", "pager"])
    assert str(raised.value) == NOT_SENT_ON_PAGER
    assert not Notification.objects.exists()


@override_settings(NOTIFY_BACKENDS=WITH_PAGER)
def test_an_optional_channel_reaches_those_who_turned_it_on(invoice_paid_with_optional_pager, bob, make_user):
    ann = make_user("ann")
    set_preference(bob, INVOICE_PAID, "pager", "immediate")
    written = notify(paid(), {bob: ["pager"], ann: ["pager"]})
    assert [(row.user, row.channel) for row in written] == [(bob, "pager")]
    Notification.objects.all().delete()
    written = notify(paid(), audience(bob, ann), channels=["pager"])
    assert [(row.user, row.channel) for row in written] == [(bob, "pager")]


def test_a_mandatory_type_is_sent_on_any_configured_channel(security_notice, bob):
    [row] = notify(Message(event=security_notice, title="New sign-in"), {bob: ["app"]})
    assert row.channel == "app"
    [row] = notify(Message(event=security_notice, title="New sign-in"), audience(bob), channels=["app"])
    assert row.channel == "app"


@pytest.mark.parametrize("event", [INVOICE_PAID, "billing.unregistered"])
def test_an_alias_not_in_notify_backends_is_refused_for_any_event(invoice_paid, bob, event):
    message = paid(event=event)
    with pytest.raises(UnknownChannel, match=r"^NOTIFY_BACKENDS has no backend 'pagr'\.$"):
        notify(message, {bob: ["app", "pagr"]})
    with pytest.raises(UnknownChannel, match=r"^NOTIFY_BACKENDS has no backend 'pagr'\.$"):
        notify(message, audience(bob), channels=["app", "pagr"])
    assert not Notification.objects.exists()


def test_an_alias_not_in_notify_backends_is_refused_even_for_inactive_recipients(invoice_paid, make_user):
    gone = make_user("gone", is_active=False)
    with pytest.raises(UnknownChannel, match=r"^NOTIFY_BACKENDS has no backend 'pagr'\.$"):
        notify(paid(), {gone: ["pagr"]})


def test_what_a_recipient_decides_is_still_a_silent_skip(invoice_paid, bob, make_user):
    no_address = make_user("noaddress", email="")
    set_preference(bob, INVOICE_PAID, "email", "off")
    written = notify(paid(), {bob: ["email"], no_address: ["email"], "guest@example.org": ["app"]})
    assert written == []
    assert list(notify(paid(), audience(bob, no_address), channels=["email"])) == []


@override_settings(NOTIFY_BACKENDS=WITH_PAGER)
def test_set_preference_refuses_a_channel_the_type_is_not_sent_on(invoice_paid, bob):
    with pytest.raises(ChannelNotOffered) as raised:
        set_preference(bob, INVOICE_PAID, "pager", "immediate")
    assert str(raised.value) == (
        "set_preference(): the type 'billing.invoice_paid' is not sent on 'pager'; its channels are: "
        "app, email. List it in the type's channels."
    )


# -- an event that is not a registered type ----------------------------------------------------


def test_an_unregistered_event_is_written_with_a_warning_naming_it(bob, caplog):
    message = paid(event="billing.invoice.payed")
    with caplog.at_level(logging.WARNING, logger="spire_notify"):
        [row] = notify(message, {bob: ["app"]})
        [row] = notify(message, audience(bob), channels=["app"])
    assert [(record.name, record.levelname, record.getMessage()) for record in caplog.records] == [
        ("spire_notify", "WARNING", UNREGISTERED + WARN_HINT)
    ] * 2


def test_a_registered_event_logs_nothing(invoice_paid, bob, caplog):
    with caplog.at_level(logging.WARNING, logger="spire_notify"):
        notify(paid(), {bob: ["app"]})
        notify(paid(), audience(bob), channels=["app"])
    assert caplog.records == []


@override_settings(NOTIFY_UNKNOWN_EVENTS="error")
def test_an_unregistered_event_is_an_error_when_the_setting_says_so(bob):
    message = paid(event="billing.invoice.payed")
    with pytest.raises(UnknownNotificationType) as raised:
        notify(message, {bob: ["app"]})
    assert str(raised.value) == UNREGISTERED
    assert raised.value.key == "billing.invoice.payed"
    with pytest.raises(UnknownNotificationType) as raised:
        notify(message, audience(bob), channels=["app"])
    assert str(raised.value) == UNREGISTERED
    assert not Notification.objects.exists()


def english(recipient):
    return "en"


@override_settings(NOTIFY_RECIPIENT_LANGUAGE=f"{__name__}.english")
def test_an_audience_read_in_languages_warns_once(bob, make_user, caplog):
    make_user("ann")
    with caplog.at_level(logging.WARNING, logger="spire_notify"):
        written = notify(paid(event="billing.invoice.payed"), audience(bob), channels=["app"])
    assert len(written) == 1
    assert [record.getMessage() for record in caplog.records] == [UNREGISTERED + WARN_HINT]


# -- a template that does not exist ------------------------------------------------------------


def test_a_missing_template_is_refused_when_writing(invoice_paid, bob):
    message = paid(template="billing/email/invoice_payed.html")
    for recipients, channels in (({bob: ["app", "email"]}, None), (audience(bob), ["app", "email"])):
        with pytest.raises(ValidationError) as raised:
            notify(message, recipients, channels=channels)
        assert raised.value.message_dict == {"template": [MISSING_TEMPLATE]}
    assert not Notification.objects.exists()


def test_a_template_only_matters_to_channels_that_render_templates(invoice_paid, bob):
    message = paid(template="billing/email/invoice_payed.html")
    [row] = notify(message, {bob: ["app"]})
    assert row.channel == "app"


def test_an_existing_template_is_accepted(invoice_paid, bob):
    message = paid(template="helpdesk/email/ticket_update.html")
    assert len(notify(message, {bob: ["app", "email"]})) == 2


class CountingBackend(LocMemBackend):
    """Counts the template checks the write side asks for."""

    asked = []

    def check_template(self, template_name):
        self.asked.append((self.alias, template_name))
        return ""


@override_settings(
    NOTIFY_BACKENDS={
        "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
        "counted": {"BACKEND": f"{__name__}.CountingBackend"},
    }
)
def test_the_template_is_checked_once_per_channel_per_call_not_per_recipient(make_user):
    users = [make_user(f"user{index}") for index in range(5)]
    message = Message(event="billing.unregistered", title="t", template="billing/any.html")
    CountingBackend.asked.clear()
    notify(message, dict.fromkeys(users, ["app", "counted", Deferred("counted", timedelta(days=1))]))
    notify(message, audience(*users), channels=["app", "counted"])
    notify(Message(event="billing.unregistered", title="t"), {users[0]: ["counted"]})
    assert CountingBackend.asked == [("counted", "billing/any.html")] * 2
