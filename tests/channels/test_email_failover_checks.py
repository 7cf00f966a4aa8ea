"""The checks of the email channel's ``failover`` option (``spire_notify.E130``-``E133``)."""

import django
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from spire_notify.channels.email.backend import EmailBackend
from spire_notify.channels.email.failover_checks import check_failover_on_other_backends, failover_aliases
from spire_notify.checks import check_backends
from spire_notify.compat import HAS_MAILERS
from spire_notify.conf import DEFAULT_NOTIFY_BACKENDS
from tests.mail_settings import LOCMEM, SMTP

MAILERS = {
    "default": {"BACKEND": LOCMEM},
    "backup": {"BACKEND": LOCMEM},
    "spare": {"BACKEND": LOCMEM},
}

needs_mailers = pytest.mark.skipif(not HAS_MAILERS, reason="MAILERS is Django 6.1's")


def failover_messages(failover, mailers=MAILERS):
    with override_settings(MAILERS=mailers):
        errors = EmailBackend(alias="email", failover=failover).check()
    return [(error.id, error.msg) for error in errors]


@needs_mailers
@pytest.mark.parametrize("failover", ["backup", ["backup", "spare"], ("spare",), [], ""])
def test_aliases_in_mailers_pass_and_an_empty_failover_is_none(failover):
    assert failover_messages(failover) == []


@needs_mailers
def test_the_mailers_are_tried_in_the_order_given_after_the_channels_own():
    assert failover_aliases(EmailBackend(alias="email", failover="backup")) == ("default", "backup")
    backend = EmailBackend(alias="email", mailer="spare", failover=["backup", "default"])
    assert failover_aliases(backend) == ("spare", "backup", "default")


@needs_mailers
def test_an_alias_not_in_mailers_is_e130():
    assert failover_messages(["backup", "bulk"]) == [
        ("spire_notify.E130", "NOTIFY_BACKENDS['email']: 'failover': the mailer 'bulk' is not in MAILERS.")
    ]


@needs_mailers
def test_a_mailer_that_cannot_be_built_is_e133():
    mailers = {**MAILERS, "backup": {"BACKEND": SMTP, "OPTIONS": {"hots": "x"}}}
    assert failover_messages("backup", mailers) == [
        (
            "spire_notify.E133",
            "NOTIFY_BACKENDS['email']: 'failover': MAILERS['backup']: Unknown options 'hots'.",
        )
    ]


@needs_mailers
def test_naming_the_channels_own_mailer_is_e131():
    assert failover_messages(["default", "backup"]) == [
        (
            "spire_notify.E131",
            "NOTIFY_BACKENDS['email']: 'failover' names 'default', the channel's own mailer: a mailer "
            "that failed is not tried again in the same batch.",
        )
    ]


@pytest.mark.parametrize(
    ("failover", "problem"),
    [
        (3, "'failover' must be a MAILERS alias or a list of them, not 3."),
        ({"backup": 1}, "'failover' must be a MAILERS alias or a list of them, not {'backup': 1}."),
        (["backup", None], "'failover' must list MAILERS aliases, not ['backup', None]."),
    ],
)
def test_a_failover_of_the_wrong_shape_is_e132_and_refuses_to_open(failover, problem):
    assert failover_messages(failover) == [("spire_notify.E132", f"NOTIFY_BACKENDS['email']: {problem}")]
    with pytest.raises(ImproperlyConfigured, match=r"^spire_notify\.E132: "):
        EmailBackend(alias="email", failover=failover).open()


def test_failover_on_another_backend_is_e132_beside_the_unknown_option():
    backends = {
        **DEFAULT_NOTIFY_BACKENDS,
        "app": {**DEFAULT_NOTIFY_BACKENDS["app"], "OPTIONS": {"failover": "backup"}},
    }
    with override_settings(NOTIFY_BACKENDS=backends):
        errors = check_backends() + check_failover_on_other_backends()
    errors = {error.id: error.msg for error in errors}
    assert errors == {
        "spire_notify.E005": "NOTIFY_BACKENDS['app']: unknown option 'failover'",
        "spire_notify.E132": "NOTIFY_BACKENDS['app']: 'failover' is an option of the email channel "
        "(spire_notify.backends.email.EmailBackend), not of "
        "'spire_notify.channels.app.backend.AppBackend'.",
    }


@pytest.mark.skipif(HAS_MAILERS, reason="Django 6.1 has MAILERS (the tests above)")
def test_before_django_6_1_any_failover_alias_is_e130_saying_it_needs_mailers():
    version = ".".join(map(str, django.VERSION[:2]))
    assert failover_messages("backup") == [
        (
            "spire_notify.E130",
            f"NOTIFY_BACKENDS['email']: 'failover': the mailer 'backup' needs MAILERS (Django 6.1 or "
            f"later); Django {version} has only the 'default' mailer, configured by the EMAIL_* settings.",
        )
    ]
