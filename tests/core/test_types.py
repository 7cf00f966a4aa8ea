"""The notification type registry: declared once, looked up by key, listed in key order."""

import pytest
from django.test import SimpleTestCase

from spire_notify import notification_types
from spire_notify.exceptions import ConflictingNotificationType, UnknownNotificationType
from spire_notify.models import DeliveryMode

HELP_DESK_TYPES = ["helpdesk.ticket.comment", "helpdesk.ticket.new", "helpdesk.ticket.update"]


@pytest.fixture
def security_notice():
    declared = notification_types.register(
        "accounts.security", name="Security notice", default_channels=["email"], mandatory=True
    )
    yield declared
    notification_types.unregister("accounts.security")


def test_the_help_desk_declares_its_three_types_from_ready():
    assert [t.key for t in notification_types.all_types() if t.key.startswith("helpdesk.")] == HELP_DESK_TYPES
    new = notification_types.get_type("helpdesk.ticket.new")
    assert (str(new.name), new.default_channels, new.mandatory) == (
        "New help desk ticket",
        ("app", "email"),
        False,
    )


def test_an_unknown_key_is_a_clear_error():
    with pytest.raises(UnknownNotificationType) as raised:
        notification_types.get_type("helpdesk.ticket.escalated")
    assert str(raised.value) == (
        "No notification type 'helpdesk.ticket.escalated' is registered; declare a Notifier whose key is "
        "'helpdesk.ticket.escalated', or register it with spire_notify.notification_types.register()."
    )
    assert notification_types.lookup("helpdesk.ticket.escalated") is None


def test_registering_the_same_type_twice_is_harmless(security_notice):
    again = notification_types.register(
        "accounts.security", name="Security notice", default_channels=("email",), mandatory=True
    )
    assert again == security_notice
    assert notification_types.get_type("accounts.security") is security_notice


def test_registering_a_key_again_with_other_settings_is_an_error(security_notice):
    with pytest.raises(ConflictingNotificationType) as raised:
        notification_types.register("accounts.security", name="Security notice", mandatory=False)
    assert str(raised.value) == (
        "The notification type 'accounts.security' is already registered with other settings."
    )


class DefaultModeTests(SimpleTestCase):
    def test_default_channels_are_on_and_others_off(self):
        notification_type = notification_types.NotificationType(key="k", name="K", default_channels=("app",))
        assert notification_type.default_mode("app") == DeliveryMode.IMMEDIATE
        assert notification_type.default_mode("email") == DeliveryMode.OFF

    def test_a_mandatory_type_is_on_everywhere(self):
        notification_type = notification_types.NotificationType(key="k", name="K", mandatory=True)
        assert notification_type.default_mode("email") == DeliveryMode.IMMEDIATE
