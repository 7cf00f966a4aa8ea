"""spire_notify.compat picks the task framework and the mail API of the running Django.

One test per version says what that version gets; `make test` runs the 6.1 ones and `make
test-django-versions` the 5.2 and 6.0 ones. The suite turns deprecation warnings into errors,
so every test here also proves the API it takes is not deprecated on that version.
"""

import warnings

import django
import django_tasks_db.compat
import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.locmem import EmailBackend as LocMemMailBackend
from django.test import override_settings

from spire_notify import compat
from spire_notify.worker.tasks import deliver_notifications
from tests.mail_settings import LOCMEM, mailer_settings

DJANGO = django.VERSION[:2]
SUPPORTED = [(5, 2), (6, 0), (6, 1)]


def on_django(version):
    return pytest.mark.skipif(DJANGO != version, reason="runs on Django {}.{}".format(*version))


def test_the_running_django_is_a_supported_one():
    assert DJANGO in SUPPORTED


def test_tasks_run_on_the_framework_django_tasks_db_uses():
    assert compat.task_backends is django_tasks_db.compat.task_backends
    assert compat.BaseTaskBackend is django_tasks_db.compat.BaseTaskBackend
    assert type(deliver_notifications).__module__ == f"{compat.TASKS_MODULE}.base"


@on_django((5, 2))
def test_django_52_takes_tasks_from_the_backport_and_mail_from_get_connection():
    import django_tasks

    assert compat.TASKS_MODULE == "django_tasks"
    assert compat.task_backends is django_tasks.task_backends
    assert compat.HAS_MAILERS is False


@on_django((6, 0))
def test_django_60_takes_its_own_tasks_and_mail_from_get_connection():
    import django.tasks

    assert compat.TASKS_MODULE == "django.tasks"
    assert compat.task_backends is django.tasks.task_backends
    assert compat.HAS_MAILERS is False


@on_django((6, 1))
def test_django_61_takes_its_own_tasks_and_mail_from_mailers():
    import django.tasks

    assert compat.TASKS_MODULE == "django.tasks"
    assert compat.task_backends is django.tasks.task_backends
    assert compat.HAS_MAILERS is True


def test_the_default_mailer_is_built_without_any_warning():
    with override_settings(**mailer_settings(LOCMEM)), warnings.catch_warnings():
        warnings.simplefilter("error")
        mailer = compat.get_mailer("default")
        checked = compat.mailer_to_check("default")
    assert isinstance(mailer, LocMemMailBackend)
    assert isinstance(checked, LocMemMailBackend)


def test_a_mailer_is_new_and_unopened_each_time():
    with override_settings(**mailer_settings(LOCMEM)):
        assert compat.get_mailer("default") is not compat.get_mailer("default")


@pytest.mark.skipif(compat.HAS_MAILERS, reason="Django 6.1 has MAILERS (test_backend_email.py tests them)")
def test_before_mailers_only_the_default_mailer_exists():
    message = (
        f"the mailer 'bulk' needs MAILERS (Django 6.1 or later); Django {django.VERSION[0]}."
        f"{django.VERSION[1]} has only the 'default' mailer, configured by the EMAIL_* settings."
    )
    for build in (compat.get_mailer, compat.mailer_to_check):
        with pytest.raises(compat.UnknownMailer) as raised:
            build("bulk")
        assert str(raised.value) == message
    assert compat.timeout_setting("default") == "EMAIL_TIMEOUT"


@pytest.mark.skipif(compat.HAS_MAILERS, reason="Django 6.1 has MAILERS (test_backend_email.py tests them)")
@override_settings(EMAIL_BACKEND="nowhere.Backend")
def test_before_mailers_an_email_backend_that_cannot_be_imported_is_the_problem():
    with pytest.raises(ImproperlyConfigured) as raised:
        compat.mailer_to_check("default")
    assert str(raised.value) == "EMAIL_BACKEND: could not import 'nowhere.Backend': No module named 'nowhere'"
    assert not isinstance(raised.value, compat.UnknownMailer)


@pytest.mark.skipif(compat.HAS_MAILERS, reason="Django 6.1 has MAILERS (test_backend_email.py tests them)")
@override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_TIMEOUT=7)
def test_before_mailers_the_email_settings_configure_the_default_mailer():
    assert compat.get_mailer("default").timeout == 7


@pytest.mark.skipif(not compat.HAS_MAILERS, reason="MAILERS is Django 6.1's")
@override_settings(
    MAILERS={
        "default": {"BACKEND": LOCMEM},
        "bulk": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "smtp.example.com", "timeout": 7},
        },
    }
)
def test_with_mailers_each_alias_is_its_own_mailer():
    assert compat.get_mailer("bulk").timeout == 7
    assert compat.mailer_to_check("bulk").timeout == 7
    assert isinstance(compat.get_mailer("default"), type(mail.mailers["default"]))
    with pytest.raises(compat.UnknownMailer, match=r"^the mailer 'other' is not in MAILERS\.$"):
        compat.get_mailer("other")
    assert compat.timeout_setting("bulk") == """"timeout" in MAILERS['bulk']["OPTIONS"]"""


@pytest.mark.skipif(not compat.HAS_MAILERS, reason="MAILERS is Django 6.1's")
@override_settings()
def test_without_mailers_django_61_builds_the_default_mailer_only_to_send():
    from django.conf import settings

    del settings.MAILERS
    assert compat.mailer_to_check("default") is None  # building it would warn
    with pytest.raises(compat.UnknownMailer):
        compat.mailer_to_check("bulk")
