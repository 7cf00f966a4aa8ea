"""System checks of spire_notify and helpdesk: stable IDs, messages naming the setting, hints."""

import pytest
from django.conf import settings
from django.core import mail
from django.core.checks import Error, Warning, run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import modify_settings, override_settings

from spire_notify.checks import MASKING_FILTER_PATH
from spire_notify.models import Notification
from spire_notify.worker.process import process_notifications

EMAIL = "spire_notify.channels.email.backend.EmailBackend"

HELP_DESK_NOTIFIERS = "spire_notify.helpdesk.notifiers."


def our_messages():
    """What the project's checks report; Django's own checks are not under test here, nor what
    the Notifier checks say of the help desk's Notifiers (the channels these tests leave out on
    purpose, and their previews, which read the Site from a database these tests do not open):
    tests/helpdesk tests those."""
    return [
        message
        for message in run_checks()
        if message.id.startswith(("spire_notify.", "spire_helpdesk."))
        and not message.msg.startswith(HELP_DESK_NOTIFIERS)
    ]


def only_message():
    messages = our_messages()
    assert len(messages) == 1, messages
    return messages[0]


def test_test_settings_pass_every_check():
    assert our_messages() == []


@override_settings()
def test_default_backends_pass_when_notify_backends_is_unset():
    del settings.NOTIFY_BACKENDS
    assert our_messages() == []


@pytest.mark.parametrize(
    ("config", "check_id", "message", "hint"),
    [
        (
            {"OPTIONS": {}},
            "spire_notify.E002",
            "NOTIFY_BACKENDS['email']: no 'BACKEND' is set.",
            'Give the alias a "BACKEND", e.g. "spire_notify.channels.email.backend.EmailBackend".',
        ),
        (
            {"BACKEND": EMAIL, "OPTIONS": "premailer"},
            "spire_notify.E007",
            "NOTIFY_BACKENDS['email']: 'OPTIONS' must be a dict.",
            'Make "OPTIONS" a dict of the backend\'s keyword arguments.',
        ),
        (
            {"BACKEND": "spire_notify.backends.nowhere.Backend"},
            "spire_notify.E003",
            "NOTIFY_BACKENDS['email']: could not import 'spire_notify.backends.nowhere.Backend': "
            "No module named 'spire_notify.backends.nowhere'",
            "Check the dotted path and that its package is installed.",
        ),
        (
            {"BACKEND": "django.core.mail.backends.smtp.EmailBackend"},
            "spire_notify.E004",
            "NOTIFY_BACKENDS['email']: 'django.core.mail.backends.smtp.EmailBackend' is not a "
            "subclass of spire_notify.backends.base.BaseNotificationBackend.",
            "A backend subclasses spire_notify.backends.base.BaseNotificationBackend.",
        ),
        (
            {"BACKEND": EMAIL, "OPTIONS": {"inliner_x": "premailer"}},
            "spire_notify.E005",
            "NOTIFY_BACKENDS['email']: unknown option 'inliner_x'",
            "Remove the option, or check its spelling against the backend's documentation.",
        ),
    ],
)
def test_misconfigured_backend_is_a_check_error_naming_the_alias(config, check_id, message, hint):
    with override_settings(
        NOTIFY_BACKENDS={"app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"}, "email": config}
    ):
        error = only_message()
    assert error == Error(message, hint=hint, id=check_id)


def test_notify_backends_that_is_not_a_dict():
    with override_settings(NOTIFY_BACKENDS=[EMAIL]):
        error = only_message()
    assert error == Error(
        "NOTIFY_BACKENDS['*']: NOTIFY_BACKENDS must be a dict.",
        hint='NOTIFY_BACKENDS maps aliases to {"BACKEND": "dotted.path", "OPTIONS": {...}}.',
        id="spire_notify.E001",
    )


def test_every_broken_alias_is_reported():
    config = {
        "one": {"BACKEND": "spire_notify.backends.nowhere.Backend"},
        "two": {},
        "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
    }
    with override_settings(NOTIFY_BACKENDS=config):
        assert [message.id for message in our_messages()] == ["spire_notify.E003", "spire_notify.E002"]


@override_settings(DEBUG=True, DEVELOPMENT_EMAIL="")
def test_debug_without_development_email_is_a_warning_at_startup():
    assert only_message() == Warning(
        "DEBUG is on and DEVELOPMENT_EMAIL is not set, so email would reach real recipients; "
        "spire-notify sends none until it is set.",
        hint="Set DEVELOPMENT_EMAIL to the inbox that receives all email in development. Until then "
        "the worker refuses to start (spire_notify.E010); commands that send no email, such as "
        "migrate, run.",
        id="spire_notify.W013",
    )


@override_settings(DEBUG=True)
def test_debug_without_the_development_email_setting_at_all():
    del settings.DEVELOPMENT_EMAIL
    assert only_message().id == "spire_notify.W013"


@pytest.mark.django_db
@override_settings(DEBUG=True, DEVELOPMENT_EMAIL="")
def test_debug_without_development_email_does_not_block_migrate():
    """migrate runs every system check and stops at an Error: a project that has not chosen a
    development inbox yet must still be able to create its tables."""
    call_command("migrate", verbosity=0, skip_checks=False)


@override_settings(
    DEBUG=True, NOTIFY_BACKENDS={"app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"}}
)
def test_debug_without_development_email_is_fine_without_an_email_backend():
    del settings.DEVELOPMENT_EMAIL
    assert our_messages() == []


@override_settings(DEFAULT_FROM_EMAIL="")
def test_empty_default_from_email():
    assert only_message() == Error(
        "DEFAULT_FROM_EMAIL is empty; notification email needs a From address.",
        hint="Set DEFAULT_FROM_EMAIL, or the email backend's 'from_email' option.",
        id="spire_notify.E011",
    )


@override_settings(
    DEFAULT_FROM_EMAIL="",
    NOTIFY_BACKENDS={"email": {"BACKEND": EMAIL, "OPTIONS": {"from_email": "desk@example.com"}}},
)
def test_empty_default_from_email_is_fine_with_the_from_email_option():
    assert our_messages() == []


@override_settings(NOTIFY_BACKENDS={"email": {"BACKEND": EMAIL, "OPTIONS": {"inliner": "inkblot"}}})
def test_unknown_inliner():
    assert only_message() == Error(
        "NOTIFY_BACKENDS['email']: unknown inliner 'inkblot'.",
        hint="Use 'premailer', 'css_inline' or None.",
        id="spire_notify.E012",
    )


def without_sites():
    return [app for app in settings.INSTALLED_APPS if app != "django.contrib.sites"]


def test_sites_framework_missing():
    with override_settings(INSTALLED_APPS=without_sites()):
        error = only_message()
    assert error == Error(
        "NOTIFY_BACKENDS['email']: django.contrib.sites is not in INSTALLED_APPS; absolute URLs "
        "in email need the current Site's domain.",
        hint='Add "django.contrib.sites" to INSTALLED_APPS and set SITE_ID, or give the backend '
        'a "domain" option.',
        id="spire_notify.E020",
    )


@override_settings()
def test_site_id_missing():
    del settings.SITE_ID
    assert only_message() == Error(
        "NOTIFY_BACKENDS['email']: SITE_ID is not set; outside a request there is no current Site "
        "to take the domain of email links from.",
        hint='Set SITE_ID = 1 (and the Site\'s domain in the admin), or give the backend a "domain" option.',
        id="spire_notify.E021",
    )


@pytest.mark.parametrize(
    "backends",
    [
        {"app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"}},
        {"email": {"BACKEND": EMAIL, "OPTIONS": {"domain": "help.example.com"}}},
    ],
)
def test_sites_are_needed_only_by_an_email_backend_without_a_domain(backends):
    with override_settings(INSTALLED_APPS=without_sites(), NOTIFY_BACKENDS=backends):
        assert our_messages() == []
    with override_settings(SITE_ID=None, NOTIFY_BACKENDS=backends):
        assert our_messages() == []


@pytest.mark.django_db
def test_worker_refuses_without_site_id_before_claiming_anything(developer, create_ticket):
    create_ticket()
    with override_settings(SITE_ID=None):
        with pytest.raises(ImproperlyConfigured, match=r"^spire_notify\.E021: "):
            process_notifications()
    email_rows = Notification.objects.filter(channel="email")
    assert list(email_rows.values_list("status", "attempts", "last_error")) == [("pending", 0, "")]


@override_settings(
    ADMINS=[
        "dev@example.com",
        ("Legacy Dev", "legacy@example.com"),
        ["Listed Dev", "listed@example.com"],
        "no-at-sign",
        ("Name only",),
        ("Name", "not an address"),
        42,
        "Dev <dev@example.com>",  # Django 6's named form: valid
    ]
)
def test_malformed_admins_entries_are_each_named():
    messages = our_messages()
    assert [(message.id, message.msg) for message in messages] == [
        (
            "spire_helpdesk.E001",
            f"ADMINS[{index}] is {entry}, which is neither an email address nor a "
            "(name, address) pair; that developer gets no help desk notifications.",
        )
        for index, entry in [
            (3, "'no-at-sign'"),
            (4, "('Name only',)"),
            (5, "('Name', 'not an address')"),
            (6, "42"),
        ]
    ]
    assert {message.hint for message in messages} == {'List addresses: ADMINS = ["dev@example.com"].'}


@override_settings(ADMINS="dev@example.com")
def test_admins_that_is_a_string_not_a_list():
    assert only_message() == Error(
        "ADMINS is 'dev@example.com', which is not a list; no developer gets help desk notifications.",
        hint='List addresses: ADMINS = ["dev@example.com"].',
        id="spire_helpdesk.E002",
    )


@pytest.mark.django_db
@override_settings(DEBUG=True, DEVELOPMENT_EMAIL="")
def test_worker_refuses_to_deliver_with_debug_and_no_development_email(developer, create_ticket):
    create_ticket()
    pending = list(Notification.objects.values_list("channel", "status").order_by("pk"))
    with pytest.raises(ImproperlyConfigured) as raised:
        process_notifications()
    assert str(raised.value) == (
        "spire_notify.E010: DEBUG is on and DEVELOPMENT_EMAIL is not set, so email would reach "
        "real recipients; spire-notify sends none until it is set."
    )
    assert pending == [("app", "sent"), ("email", "pending")]
    assert list(Notification.objects.values_list("channel", "status").order_by("pk")) == pending
    assert mail.outbox == []


@pytest.mark.django_db
@override_settings(DEBUG=True, DEVELOPMENT_EMAIL="")
def test_delivery_task_on_commit_sends_nothing_with_debug_and_no_development_email(
    developer, create_and_deliver
):
    create_and_deliver()
    assert list(Notification.objects.values_list("channel", "status").order_by("pk")) == [
        ("app", "sent"),
        ("email", "pending"),
    ]
    assert mail.outbox == []


@override_settings(NOTIFY_BACKENDS={"app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"}})
def test_a_channel_the_help_desk_names_but_the_project_lacks_is_an_error_naming_its_notifier():
    errors = [message for message in run_checks() if message.id == "spire_notify.E113"]
    assert [error.msg for error in errors] == [
        f"{HELP_DESK_NOTIFIERS}{name}: Channel('email') is not a channel of NOTIFY_BACKENDS, so nobody "
        f"would hear of 'helpdesk.ticket.{event}' on it."
        for name, event in [
            ("TicketCommented", "comment"),
            ("TicketCreated", "new"),
            ("TicketStatusChanged", "update"),
        ]
    ]


@modify_settings(INSTALLED_APPS={"remove": ["spire_notify.channels.apprise"]})
@override_settings(
    NOTIFY_BACKENDS={"chat": {"BACKEND": "spire_notify.backends.apprise.AppriseBackend", "OPTIONS": {}}}
)
def test_a_backend_of_a_channel_app_that_is_not_installed_names_the_app():
    # Importing the backend would fail, and the worker with it: its models have no app.
    [error] = [message for message in run_checks() if message.id == "spire_notify.E022"]
    assert error.msg == (
        "NOTIFY_BACKENDS['chat']: 'spire_notify.backends.apprise.AppriseBackend' is a backend of the "
        "channel app 'spire_notify.channels.apprise', which is not in INSTALLED_APPS."
    )
    assert error.hint == "Add the channel app to INSTALLED_APPS and run migrate, or remove the entry."


@override_settings(ROOT_URLCONF="tests.urls_without_spire_notify")
def test_spire_notify_urls_not_included_is_a_warning():
    [warning] = [message for message in run_checks() if message.id == "spire_notify.W020"]
    assert warning.msg == (
        "spire_notify.urls is not included in the URLconf: there is no preferences page, "
        "no unsubscribe link, and no page of any channel."
    )


PUSH = "spire_notify.channels.webpush.backend.WebPushBackend"
PUSH_KEY = "VnmBFPNhAxVL6Ut2vAkykJSy1v8a3nmI-iAwqsmIdNs"  # a P-256 private key, base64url


def push_backends(**options):
    push_options = {"vapid_private_key": PUSH_KEY, "vapid_subject": "mailto:ops@example.com", **options}
    return {"push": {"BACKEND": PUSH, "OPTIONS": push_options}}


@pytest.mark.parametrize("deadline", [0, -5, "60", 151, True])
def test_a_delivery_deadline_that_does_not_fit_half_the_lease(deadline):
    with override_settings(
        NOTIFY_BACKENDS=push_backends(timeout=0.5),
        NOTIFY_DELIVERY_DEADLINE_SECONDS=deadline,
        NOTIFY_LEASE_SECONDS=300,
    ):
        message = only_message()

    assert (message.id, message.msg, message.hint) == (
        "spire_notify.E100",
        f"NOTIFY_DELIVERY_DEADLINE_SECONDS is {deadline!r}; it must be a number of seconds above 0 "
        "and at most half of NOTIFY_LEASE_SECONDS (300), so that a row sent to many destinations "
        "ends within its worker's claim.",
        "Set NOTIFY_DELIVERY_DEADLINE_SECONDS to e.g. 60, or raise NOTIFY_LEASE_SECONDS.",
    )


def test_a_destination_backend_whose_timeout_outlasts_the_delivery_deadline():
    backends = {
        **push_backends(timeout=30),
        # Bulk mode posts once per message, not per destination: its timeout is not the deadline's.
        "team": {
            "BACKEND": "spire_notify.channels.apprise.backend.AppriseBackend",
            "OPTIONS": {"urls": ["json://127.0.0.1/hook"], "domain": "x.example", "timeout": 30},
        },
    }
    # The masking filter: the team channel's URL in settings is not what this test is about.
    with override_settings(
        NOTIFY_BACKENDS=backends,
        NOTIFY_DELIVERY_DEADLINE_SECONDS=20,
        DEFAULT_EXCEPTION_REPORTER_FILTER=MASKING_FILTER_PATH,
    ):
        message = only_message()

    assert (message.id, message.msg, message.hint) == (
        "spire_notify.E101",
        "NOTIFY_BACKENDS['push']: 'timeout' (30 s) is longer than NOTIFY_DELIVERY_DEADLINE_SECONDS "
        "(20 s): not one destination could be sent to within a row's deadline.",
        "Lower the backend's 'timeout', or raise NOTIFY_DELIVERY_DEADLINE_SECONDS.",
    )


def test_the_delivery_deadline_is_not_asked_of_a_project_without_destination_backends():
    # A short lease, for a worker that only sends email: nothing is sent to many destinations.
    with override_settings(NOTIFY_LEASE_SECONDS=4, NOTIFY_DELIVERY_DEADLINE_SECONDS=60):
        assert our_messages() == []
    with override_settings(
        NOTIFY_BACKENDS=push_backends(timeout=1), NOTIFY_LEASE_SECONDS=4, NOTIFY_DELIVERY_DEADLINE_SECONDS=60
    ):
        assert [message.id for message in our_messages()] == ["spire_notify.E100"]


@pytest.mark.parametrize("timeout", [0, None, "10"])
def test_a_destination_backend_whose_timeout_is_not_a_number_of_seconds(timeout):
    with override_settings(NOTIFY_BACKENDS=push_backends(timeout=timeout)):
        message = only_message()

    assert (message.id, message.msg, message.hint) == (
        "spire_notify.E102",
        f"NOTIFY_BACKENDS['push']: 'timeout' is {timeout!r}; it must be a number of seconds above 0, "
        "which bounds each destination's send within a row's deadline.",
        "Set the backend's 'timeout' to e.g. 10.",
    )


@pytest.mark.parametrize("value", ["warn", "error"])
def test_unknown_events_setting_passes_with_either_choice(value):
    with override_settings(NOTIFY_UNKNOWN_EVENTS=value):
        assert our_messages() == []


@pytest.mark.parametrize("value", ["raise", "ERROR", None, True])
def test_unknown_events_setting_must_be_warn_or_error(value):
    with override_settings(NOTIFY_UNKNOWN_EVENTS=value):
        assert only_message() == Error(
            f'NOTIFY_UNKNOWN_EVENTS is {value!r}; it must be "warn" or "error".',
            hint='Set NOTIFY_UNKNOWN_EVENTS = "error" to refuse events that are not registered '
            'notification types, or "warn" to log them and send as before.',
            id="spire_notify.E023",
        )
