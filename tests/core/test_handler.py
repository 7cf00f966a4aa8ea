"""spire_notify.handler: NOTIFY_BACKENDS aliases to lazily built backends (no database)."""

import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from spire_notify.backends.locmem import LocMemBackend
from spire_notify.channels.app.backend import AppBackend
from spire_notify.channels.email.backend import EmailBackend
from spire_notify.exceptions import InvalidNotifyBackend, UnknownChannel
from spire_notify.handler import NotifyBackendsHandler, notify_backends


def build(config, alias="email"):
    with override_settings(NOTIFY_BACKENDS=config):
        return NotifyBackendsHandler()[alias]


@override_settings()
def test_default_is_app_and_email_when_unset():
    from django.conf import settings

    del settings.NOTIFY_BACKENDS
    handler = NotifyBackendsHandler()
    assert list(handler) == ["app", "email"]
    assert isinstance(handler["app"], AppBackend)
    assert isinstance(handler["email"], EmailBackend)


def test_backend_gets_its_alias_and_options():
    backend = build(
        {
            "mail": {
                "BACKEND": "spire_notify.channels.email.backend.EmailBackend",
                "OPTIONS": {"mailer": "bulk", "inliner": None},
            }
        },
        alias="mail",
    )
    assert (backend.alias, backend.mailer, backend.inliner) == ("mail", "bulk", None)
    assert repr(backend) == "<EmailBackend alias='mail'>"


def test_backend_is_built_once_and_reset_when_settings_change():
    with override_settings(NOTIFY_BACKENDS={"x": {"BACKEND": "spire_notify.backends.locmem.LocMemBackend"}}):
        first = notify_backends["x"]
        assert notify_backends["x"] is first
        assert isinstance(first, LocMemBackend)
    with override_settings(
        NOTIFY_BACKENDS={"x": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"}}
    ):
        assert isinstance(notify_backends["x"], AppBackend)


def test_contains_and_all_follow_the_setting():
    config = {
        "a": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
        "b": {"BACKEND": "spire_notify.backends.locmem.LocMemBackend"},
    }
    with override_settings(NOTIFY_BACKENDS=config):
        assert "a" in notify_backends and "email" not in notify_backends
        assert [backend.alias for backend in notify_backends.all()] == ["a", "b"]


def test_unknown_alias():
    with override_settings(NOTIFY_BACKENDS={}):
        with pytest.raises(UnknownChannel, match=r"^NOTIFY_BACKENDS has no backend 'sms'\.$"):
            NotifyBackendsHandler()["sms"]


@pytest.mark.parametrize(
    ("config", "message", "check_id"),
    [
        (
            {"OPTIONS": {}},
            "NOTIFY_BACKENDS['email']: no 'BACKEND' is set.",
            "E002",
        ),
        (
            "spire_notify.channels.email.backend.EmailBackend",
            "NOTIFY_BACKENDS['email']: the entry must be a dict.",
            "E008",
        ),
        (
            {"BACKEND": "spire_notify.channels.email.backend.EmailBackend", "OPTION": {"mailer": "bulk"}},
            "NOTIFY_BACKENDS['email']: unknown key 'OPTION'; an entry has only 'BACKEND' and 'OPTIONS'.",
            "E006",
        ),
        (
            {"BACKEND": "spire_notify.channels.email.backend.EmailBackend", "OPTIONS": [("mailer", "bulk")]},
            "NOTIFY_BACKENDS['email']: 'OPTIONS' must be a dict.",
            "E007",
        ),
        (
            {"BACKEND": "spire_notify.backends.nowhere.Backend"},
            "NOTIFY_BACKENDS['email']: could not import 'spire_notify.backends.nowhere.Backend': "
            "No module named 'spire_notify.backends.nowhere'",
            "E003",
        ),
        (
            {"BACKEND": "spire_notify.channels.email.backend.NoSuchBackend"},
            "NOTIFY_BACKENDS['email']: could not import 'spire_notify.channels.email.backend.NoSuchBackend': "
            'Module "spire_notify.channels.email.backend" does not define a "NoSuchBackend" attribute/class',
            "E003",
        ),
        (
            {"BACKEND": "django.core.mail.backends.smtp.EmailBackend"},
            "NOTIFY_BACKENDS['email']: 'django.core.mail.backends.smtp.EmailBackend' is not a "
            "subclass of spire_notify.backends.base.BaseNotificationBackend.",
            "E004",
        ),
        (
            {"BACKEND": "spire_notify.channels.email.backend.DEFAULT_TEMPLATE"},
            "NOTIFY_BACKENDS['email']: 'spire_notify.channels.email.backend.DEFAULT_TEMPLATE' is not a "
            "subclass of spire_notify.backends.base.BaseNotificationBackend.",
            "E004",
        ),
        (
            {
                "BACKEND": "spire_notify.channels.email.backend.EmailBackend",
                "OPTIONS": {"inliner_x": "premailer"},
            },
            "NOTIFY_BACKENDS['email']: unknown option 'inliner_x'",
            "E005",
        ),
        (
            {"BACKEND": "spire_notify.channels.app.backend.AppBackend", "OPTIONS": {"b": 1, "a": 2}},
            "NOTIFY_BACKENDS['email']: unknown options 'a', 'b'",
            "E005",
        ),
    ],
)
def test_misconfigured_alias_is_improperly_configured_naming_it(config, message, check_id):
    with pytest.raises(ImproperlyConfigured) as raised:
        build({"email": config})
    assert str(raised.value) == message
    assert isinstance(raised.value, InvalidNotifyBackend)
    assert (raised.value.alias, raised.value.check_id) == ("email", check_id)


def test_setting_that_is_not_a_dict():
    with pytest.raises(InvalidNotifyBackend) as raised:
        build([("email", "spire_notify.channels.email.backend.EmailBackend")])
    assert str(raised.value) == "NOTIFY_BACKENDS['email']: NOTIFY_BACKENDS must be a dict."
    assert raised.value.check_id == "E001"


def test_a_backend_path_from_before_the_import_root_names_the_new_one():
    with override_settings(NOTIFY_BACKENDS={"email": {"BACKEND": "backends.email.EmailBackend"}}):
        with pytest.raises(InvalidNotifyBackend) as raised:
            notify_backends["email"]
    assert raised.value.check_id == "E009"
    assert str(raised.value) == (
        "NOTIFY_BACKENDS['email']: 'backends.email.EmailBackend' is the backends' old path; "
        "it is 'spire_notify.backends.email.EmailBackend' now."
    )


def test_a_projects_own_backends_package_is_configured_like_any_other(tmp_path, monkeypatch):
    """A project may have a package named ``backends`` of its own: only a path that nothing
    answers to, and that names a bundled backend's old place, is called the old path."""
    package = tmp_path / "backends"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "sms.py").write_text(
        "from spire_notify.backends.base import BaseNotificationBackend, Rendered\n\n\n"
        "class SmsBackend(BaseNotificationBackend):\n"
        "    def render(self, message, recipient):\n"
        "        return Rendered(body=message.title, url='')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    # The checkout's own top-level backends/ folder is importable too; the project's comes first.
    monkeypatch.delitem(sys.modules, "backends", raising=False)
    with override_settings(NOTIFY_BACKENDS={"sms": {"BACKEND": "backends.sms.SmsBackend"}}):
        backend = notify_backends["sms"]
    assert type(backend).__module__ == "backends.sms"
    assert backend.alias == "sms"


@pytest.mark.parametrize(
    "old_path, channel_path",
    [
        ("spire_notify.backends.app.AppBackend", "spire_notify.channels.app.backend.AppBackend"),
        ("spire_notify.backends.email.EmailBackend", "spire_notify.channels.email.backend.EmailBackend"),
        (
            "spire_notify.backends.webhook.WebhookBackend",
            "spire_notify.channels.webhook.backend.WebhookBackend",
        ),
        (
            "spire_notify.backends.apprise.AppriseBackend",
            "spire_notify.channels.apprise.backend.AppriseBackend",
        ),
        (
            "spire_notify.backends.webpush.WebPushBackend",
            "spire_notify.channels.webpush.backend.WebPushBackend",
        ),
    ],
)
def test_the_bundled_backends_paths_name_their_channels_backends(old_path, channel_path):
    from django.utils.module_loading import import_string

    with override_settings(NOTIFY_BACKENDS={"chosen": {"BACKEND": old_path}}):
        assert type(notify_backends["chosen"]) is import_string(channel_path)
