"""System checks for set-up mistakes that used to pass `check` and fail later, each reproduced.

- ``spire_notify.W012``: ``DEFAULT_FROM_EMAIL`` left at Django's ``webmaster@localhost``;
- ``spire_notify.E080``/``E081``: a ``TASKS`` backend that cannot take the delivery task (its app
  is not installed; ``NOTIFY_TASK_BACKEND`` names no ``TASKS`` alias);
- ``spire_helpdesk.W002``: the help desk's URLs are not included.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import NoReverseMatch

from spire_notify.channels.email.checks import check_from_address
from spire_notify.checks import check_task_backend
from spire_notify.compat import TASKS_MODULE
from spire_notify.helpdesk.checks import check_urls_included
from spire_notify.helpdesk.models import HelpDeskTicket

IMMEDIATE = f"{TASKS_MODULE}.backends.immediate.ImmediateBackend"
APPS_WITHOUT_TASKS_DB = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sites",
    "spire_notify",
    "spire_notify.helpdesk",
]


def messages(check):
    return [(message.id, message.msg) for message in check()]


def django_check_output():
    """What `manage.py check` prints (it raises SystemCheckError on an error)."""
    out = StringIO()
    call_command("check", stdout=out, stderr=out)
    return out.getvalue()


# DEFAULT_FROM_EMAIL


# `manage.py check` renders the Notifiers' previews, which read the Site.
@pytest.mark.django_db
@override_settings(DEFAULT_FROM_EMAIL="webmaster@localhost")
def test_djangos_placeholder_from_address_is_a_warning():
    assert messages(check_from_address) == [
        (
            "spire_notify.W012",
            "NOTIFY_BACKENDS['email'] sends from DEFAULT_FROM_EMAIL, which is Django's placeholder "
            "'webmaster@localhost': mail servers refuse it or file it as spam.",
        )
    ]
    assert "spire_notify.W012" in django_check_output()


@override_settings(
    DEFAULT_FROM_EMAIL="webmaster@localhost",
    NOTIFY_BACKENDS={
        "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
        "email": {
            "BACKEND": "spire_notify.channels.email.backend.EmailBackend",
            "OPTIONS": {"from_email": "helpdesk@example.com"},
        },
    },
)
def test_a_backend_with_its_own_from_address_is_not_warned_of():
    assert messages(check_from_address) == []


@override_settings(DEFAULT_FROM_EMAIL="helpdesk@example.com")
def test_a_real_from_address_is_not_warned_of():
    assert messages(check_from_address) == []


# TASKS


@override_settings(
    INSTALLED_APPS=APPS_WITHOUT_TASKS_DB, TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
)
def test_a_task_backend_whose_app_is_not_installed_is_an_error():
    assert messages(check_task_backend) == [
        (
            "spire_notify.E080",
            "TASKS['default'] is 'django_tasks_db.DatabaseBackend', whose app 'django_tasks_db' is not in "
            "INSTALLED_APPS; enqueueing delivery would fail when a notification is written.",
        )
    ]


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_a_task_backend_whose_app_is_installed_is_fine():
    assert messages(check_task_backend) == []


@override_settings(TASKS={"default": {"BACKEND": IMMEDIATE}})
def test_a_task_backend_without_models_needs_no_app():
    assert messages(check_task_backend) == []


@override_settings(
    INSTALLED_APPS=APPS_WITHOUT_TASKS_DB,
    TASKS={"default": {"BACKEND": IMMEDIATE}, "db": {"BACKEND": "django_tasks_db.DatabaseBackend"}},
)
def test_only_the_backend_delivery_is_enqueued_on_is_checked():
    assert messages(check_task_backend) == []
    with override_settings(NOTIFY_TASK_BACKEND="db"):
        assert [id for id, _ in messages(check_task_backend)] == ["spire_notify.E080"]


@override_settings(TASKS={"default": {"BACKEND": IMMEDIATE}}, NOTIFY_TASK_BACKEND="background")
def test_a_task_backend_alias_that_is_not_in_tasks_is_an_error():
    assert messages(check_task_backend) == [
        (
            "spire_notify.E081",
            "NOTIFY_TASK_BACKEND is 'background', which is not an alias of TASKS; delivery cannot be enqueued.",
        )
    ]


# The help desk's URLs

WITHOUT_HELPDESK_URLS = "tests.urls_without_helpdesk"


@override_settings(ROOT_URLCONF=WITHOUT_HELPDESK_URLS)
def test_help_desk_urls_not_included_is_a_warning():
    assert messages(check_urls_included) == [
        (
            "spire_helpdesk.W002",
            "The help desk's URLs are not included in ROOT_URLCONF, so creating a ticket fails: its "
            "notifications link to the ticket's page.",
        )
    ]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=WITHOUT_HELPDESK_URLS)
def test_without_the_help_desk_urls_manage_py_check_stops_on_the_notifiers_previews_and_says_why():
    # The help desk's Notifiers cannot build their messages (the link to the ticket), so their
    # previews fail to render (E117) and the warning says what to add.
    with pytest.raises(SystemCheckError) as raised:
        django_check_output()
    report = str(raised.value)
    assert "spire_helpdesk.W002" in report
    assert report.count("(spire_notify.E117)") == 3
    assert "NoReverseMatch: 'spire_helpdesk' is not a registered namespace" in report


def test_help_desk_urls_included_are_not_warned_of():
    assert messages(check_urls_included) == []


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=WITHOUT_HELPDESK_URLS)
def test_what_the_warning_is_about_creating_a_ticket_fails_and_rolls_back(create_ticket, developer):
    with pytest.raises(NoReverseMatch):
        create_ticket()
    assert HelpDeskTicket.objects.count() == 0
