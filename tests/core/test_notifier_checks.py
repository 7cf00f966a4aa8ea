"""The startup checks of Notifiers (spire_notify.notifier.checks): E110-E118 and W110."""

from datetime import timedelta

import pytest
from django.core.checks import Error, Warning
from django.test import override_settings

from spire_notify import Channel, Message, Notifier, notification_types
from spire_notify.notifier.checks import check_notifier_previews, check_notifiers
from spire_notify.testing import isolated_notifiers

WAIT = timedelta(minutes=10)


@pytest.fixture(autouse=True)
def _isolated():
    with isolated_notifiers():
        yield


def declare(name, key="exports.ready", base=Notifier, **attributes):
    namespace = {
        "key": key,
        "channels": [Channel("app")],
        "__module__": "projects.notifiers",
        "__qualname__": name,
        "message": lambda self: Message(event=self.key, title="Ready"),
        **attributes,
    }
    return type(name, (base,), namespace)


def ids(messages):
    return [message.id for message in messages]


def test_a_sound_notifier_passes():
    declare("ExportReady", channels=[Channel("app"), Channel("email", wait=WAIT, unless="read")])
    assert check_notifiers() == []


def test_two_unrelated_classes_with_one_key_are_an_error():
    declare("ExportReady")
    declare("ExportDone")
    assert check_notifiers() == [
        Error(
            "projects.notifiers.ExportDone and projects.notifiers.ExportReady both declare the notification "
            "type 'exports.ready'.",
            hint="Give each Notifier its own key; to replace one, subclass it and name the subclass in "
            "NOTIFY_NOTIFIERS.",
            id="spire_notify.E110",
        )
    ]


def test_a_key_registered_twice_is_an_error():
    declare("ExportReady")
    notification_types.register("exports.ready", name="Export ready")
    try:
        assert ids(check_notifiers()) == ["spire_notify.E111"]
    finally:
        notification_types.unregister("exports.ready")


def test_a_subclass_that_keeps_the_key_but_is_not_named_is_a_warning():
    base = declare("ExportReady")
    declare("OurExportReady", base=base, channels=[Channel("email")])
    assert check_notifiers() == [
        Warning(
            "projects.notifiers.OurExportReady subclasses projects.notifiers.ExportReady and keeps its key "
            "'exports.ready', but NOTIFY_NOTIFIERS does not name it, so projects.notifiers.ExportReady sends "
            "'exports.ready'.",
            hint='To send with it: NOTIFY_NOTIFIERS = {"exports.ready": "projects.notifiers.OurExportReady"}.',
            id="spire_notify.W110",
        )
    ]


def test_a_setting_that_cannot_be_imported_is_an_error():
    declare("ExportReady")
    with override_settings(NOTIFY_NOTIFIERS={"exports.ready": "projects.nowhere.ExportReady"}):
        [error] = check_notifiers()
    assert error.id == "spire_notify.E112"
    assert error.msg.startswith(
        "NOTIFY_NOTIFIERS['exports.ready'] = 'projects.nowhere.ExportReady' cannot be imported: "
    )


def test_a_setting_that_is_not_a_dict_is_an_error():
    with override_settings(NOTIFY_NOTIFIERS=["x"]):
        assert ids(check_notifiers()) == ["spire_notify.E112"]


def test_a_channel_that_is_not_configured_is_an_error():
    declare("ExportReady", channels=[Channel("app"), Channel("pager")])
    assert check_notifiers() == [
        Error(
            "projects.notifiers.ExportReady: Channel('pager') is not a channel of NOTIFY_BACKENDS, so nobody "
            "would hear of 'exports.ready' on it.",
            hint="Configure NOTIFY_BACKENDS['pager'], or take the channel out (subclass the Notifier and name "
            "it in NOTIFY_NOTIFIERS for a bundled one).",
            id="spire_notify.E113",
        )
    ]


def test_waiting_on_a_channel_that_delivers_by_writing_is_an_error():
    declare("ExportReady", channels=[Channel("app", wait=WAIT)])
    assert ids(check_notifiers()) == ["spire_notify.E114"]
    assert "delivers by writing (the in-app inbox)" in check_notifiers()[0].msg


def test_two_templates_are_an_error():
    declare(
        "ExportReady",
        channels=[
            Channel("email", template="spire_notify/email/notification.html"),
            Channel("email_digest", template="spire_notify/email/digest.html"),
        ],
    )
    with override_settings(
        NOTIFY_BACKENDS={
            "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
            "email": {"BACKEND": "spire_notify.channels.email.backend.EmailBackend"},
            "email_digest": {"BACKEND": "spire_notify.channels.email.backend.EmailBackend"},
        }
    ):
        assert ids(check_notifiers()) == ["spire_notify.E115"]


def test_a_template_its_backend_does_not_have_is_an_error():
    declare("ExportReady", channels=[Channel("app"), Channel("email", template="exports/email/ready.html")])
    assert [(message.id, message.msg) for message in check_notifiers()] == [
        (
            "spire_notify.E116",
            "projects.notifiers.ExportReady: Channel('email'): The email template 'exports/email/ready.html' "
            "does not exist in the template engines 'django', 'jinja2'.",
        )
    ]


def test_a_template_its_backend_has_passes():
    declare("ExportReady", channels=[Channel("email", template="spire_notify/email/notification.html")])
    assert check_notifiers() == []


def test_a_channel_listed_twice_is_an_error():
    declare("ExportReady", channels=[Channel("email"), Channel("email", wait=WAIT)])
    assert ids(check_notifiers()) == ["spire_notify.E118"]


# The installed apps' Notifiers render their previews too, reading the Site.
@pytest.mark.django_db
def test_a_preview_that_fails_to_build_is_an_error():
    def preview(cls):
        return cls(missing_argument=True)

    declare("ExportReady", preview=classmethod(preview), __init__=lambda self: None)
    [error] = check_notifier_previews()
    assert error.id == "spire_notify.E117"
    assert error.msg.startswith("projects.notifiers.ExportReady.preview() does not render: TypeError: ")
    assert error.msg.endswith("got an unexpected keyword argument 'missing_argument'")


# The installed apps' Notifiers render their previews too, reading the Site.
@pytest.mark.django_db
def test_a_preview_whose_message_fails_is_an_error():
    declare(
        "ExportReady",
        preview=classmethod(lambda cls: cls()),
        message=lambda self: Message(event="exports.other", title="Ready"),
    )
    [error] = check_notifier_previews()
    assert error.id == "spire_notify.E117"
    assert "built a message of event 'exports.other'" in error.msg


@pytest.mark.django_db
def test_a_preview_that_renders_passes():
    declare(
        "ExportReady",
        channels=[Channel("app"), Channel("email", template="spire_notify/email/notification.html")],
        preview=classmethod(lambda cls: cls()),
    )
    assert check_notifier_previews() == []
