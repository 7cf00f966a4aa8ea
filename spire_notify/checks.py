"""System checks: misconfiguration fails at startup, naming the setting to fix.

IDs are stable; the reference page of the docs lists each with its fix.
"""

import importlib.util
import ipaddress

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from spire_notify import conf
from spire_notify.compat import task_backends
from spire_notify.debug import MaskingExceptionReporterFilter, mask_urls_in
from spire_notify.exceptions import InvalidNotifyBackend
from spire_notify.handler import notify_backends
from spire_notify.worker.pace_stores import store_problem

MASKING_FILTER_PATH = f"{MaskingExceptionReporterFilter.__module__}.{MaskingExceptionReporterFilter.__name__}"

BACKEND_HINTS = {
    "E001": 'NOTIFY_BACKENDS maps aliases to {"BACKEND": "dotted.path", "OPTIONS": {...}}.',
    "E002": 'Give the alias a "BACKEND", e.g. "spire_notify.channels.email.backend.EmailBackend".',
    "E003": "Check the dotted path and that its package is installed.",
    "E004": "A backend subclasses spire_notify.backends.base.BaseNotificationBackend.",
    "E005": "Remove the option, or check its spelling against the backend's documentation.",
    "E006": 'An entry has only "BACKEND" and "OPTIONS"; check the spelling of the other key.',
    "E007": 'Make "OPTIONS" a dict of the backend\'s keyword arguments.',
    "E008": 'Make the entry a dict: {"BACKEND": "dotted.path", "OPTIONS": {...}}.',
    "E009": 'Prefix the path with "spire_notify.", e.g. "spire_notify.backends.email.EmailBackend".',
    "E022": "Add the channel app to INSTALLED_APPS and run migrate, or remove the entry.",
}


@register(Tags.compatibility)
def check_backends(app_configs=None, **kwargs):
    configured = conf.backend_settings()
    if not isinstance(configured, dict):
        error = InvalidNotifyBackend("*", "NOTIFY_BACKENDS must be a dict.", check_id="E001")
        return [_backend_error(error)]
    messages = []
    for alias in configured:
        try:
            backend = notify_backends.create_backend(alias)
        except InvalidNotifyBackend as error:
            messages.append(_backend_error(error))
        else:
            messages.extend(backend.option_errors())
            messages.extend(backend.check())
    return messages


def _backend_error(error):
    return Error(str(error), hint=BACKEND_HINTS[error.check_id], id=f"spire_notify.{error.check_id}")


STORE_HINTS = {
    "E121": "Leave NOTIFY_RATE_LIMIT_STORE unset to keep the pace in the database, or set a Redis URL "
    'such as "redis://127.0.0.1:6379/0".',
    "E122": 'Write it as redis-py reads it: "redis://[:password@]host:port/db", "rediss://…" or '
    '"unix:///path/to/redis.sock".',
    "E124": 'Install the extra: pip install "spire-notify[redis]"; or leave NOTIFY_RATE_LIMIT_STORE unset '
    "to keep the pace in the database.",
}


@register(Tags.compatibility)
def check_rate_limit_settings(app_configs=None, **kwargs):
    """The settings of rate limits and throttling; each backend's own ``rate_limit`` is checked
    with its options (E120). A Redis out of reach now is no error: the workers wait for it."""
    messages = count_setting_errors("NOTIFY_MAX_THROTTLES", "spire_notify.E123")
    if problem := store_problem(conf.get("NOTIFY_RATE_LIMIT_STORE")):
        check_id, text = problem
        messages.append(Error(text, hint=STORE_HINTS[check_id], id=f"spire_notify.{check_id}"))
    return messages


@register(Tags.compatibility)
def check_recipient_language(app_configs=None, **kwargs):
    path = conf.get("NOTIFY_RECIPIENT_LANGUAGE")
    if not path:
        return []
    try:
        chooser = import_string(path)
    except ImportError as error:
        return [
            Error(
                f"NOTIFY_RECIPIENT_LANGUAGE: could not import {path!r}: {error}",
                hint="Name a callable (user) -> language code or None, e.g. 'myproject.users.language_of'.",
                id="spire_notify.E040",
            )
        ]
    if not callable(chooser):
        return [
            Error(
                f"NOTIFY_RECIPIENT_LANGUAGE: {path!r} is not callable.",
                hint="Name a function (user) -> language code or None.",
                id="spire_notify.E041",
            )
        ]
    return []


@register(Tags.compatibility)
def check_unknown_events(app_configs=None, **kwargs):
    """A misspelt value of NOTIFY_UNKNOWN_EVENTS would quietly mean "warn"."""
    value = conf.get("NOTIFY_UNKNOWN_EVENTS")
    if value in conf.UNKNOWN_EVENTS_CHOICES:
        return []
    return [
        Error(
            f'NOTIFY_UNKNOWN_EVENTS is {value!r}; it must be "warn" or "error".',
            hint='Set NOTIFY_UNKNOWN_EVENTS = "error" to refuse events that are not registered '
            'notification types, or "warn" to log them and send as before.',
            id="spire_notify.E023",
        )
    ]


@register(Tags.security)
def check_user_destinations(app_configs=None, **kwargs):
    """The networks users' URLs may reach (``spire_notify.destinations``, for any channel that
    sends to users' own URLs): a malformed entry would fail at the first delivery or save, not at
    startup. A channel checks its own limits (how many URLs a user keeps, which schemes)."""
    return _private_network_errors()


def _private_network_errors():
    entries = conf.get("NOTIFY_ALLOWED_PRIVATE_NETWORKS")
    if isinstance(entries, str) or not isinstance(entries, list | tuple):
        malformed = [entries]
    else:
        malformed = [entry for entry in entries if not _is_network(entry)]
    return [
        Error(
            f"NOTIFY_ALLOWED_PRIVATE_NETWORKS: {entry!r} is not a network in CIDR notation.",
            hint='List networks such as "192.168.10.0/24" or "fd00:1::/64"; [] allows public addresses only.',
            id="spire_notify.E090",
        )
        for entry in malformed
    ]


def count_setting_errors(name, check_id):
    """The error of a count setting (a cap a channel puts on what a user keeps) that is not a
    positive whole number; a channel's own checks call it."""
    if conf.is_positive_whole_number(conf.get(name)):
        return []
    return [
        Error(
            f"{name} must be a positive whole number, not {conf.get(name)!r}.",
            hint=f"Set {name} to e.g. {conf.DEFAULTS[name]}.",
            id=check_id,
        )
    ]


def _is_network(entry):
    try:
        ipaddress.ip_network(entry, strict=False)
    except (TypeError, ValueError):
        return False
    return isinstance(entry, str)


@register(Tags.urls)
def check_urls_included(app_configs=None, **kwargs):
    """Without spire_notify.urls there is no preferences page, no unsubscribe link (so mail
    providers mark a channel's messages as bulk), and no page of any channel."""
    try:
        reverse("spire_notify:preferences")
    except NoReverseMatch:
        return [
            Warning(
                "spire_notify.urls is not included in the URLconf: there is no preferences page, "
                "no unsubscribe link, and no page of any channel.",
                hint='Add path("notifications/", include("spire_notify.urls")) to your urls.py.',
                id="spire_notify.W020",
            )
        ]
    return []


@register(Tags.security)
def check_exception_reporter_filter(app_configs=None, **kwargs):
    """Django's error page (DEBUG) and its error emails to ADMINS list the settings, and its own
    filter shows the URLs of NOTIFY_BACKENDS in full; only a project setting can change that."""
    path = settings.DEFAULT_EXCEPTION_REPORTER_FILTER
    if _masks_notify_backends(path):
        return []
    configured = conf.backend_settings()
    aliases = configured if isinstance(configured, dict) else {}
    return [
        Warning(
            f"DEFAULT_EXCEPTION_REPORTER_FILTER is {path!r}, which shows the URLs of "
            f"NOTIFY_BACKENDS[{alias!r}] in full on Django's DEBUG error page and in error emails "
            "to ADMINS.",
            hint=f"Set DEFAULT_EXCEPTION_REPORTER_FILTER = {MASKING_FILTER_PATH!r}, or make your own "
            "filter a subclass of it.",
            id="spire_notify.W031",
        )
        for alias, entry in aliases.items()
        if mask_urls_in(entry) != entry
    ]


def _masks_notify_backends(path):
    try:
        reporter_filter = import_string(path)
    except ImportError:
        return False  # the warning names the path: Django fails on it at the first error page
    return isinstance(reporter_filter, type) and issubclass(reporter_filter, MaskingExceptionReporterFilter)


@register(Tags.compatibility)
def check_task_backend(app_configs=None, **kwargs):
    """Delivery is enqueued on NOTIFY_TASK_BACKEND when a transaction commits: a backend that
    cannot take the task passes Django's checks and fails at the first notification."""
    if not conf.get("NOTIFY_ENQUEUE_DELIVERY"):
        return []  # nothing is enqueued: a periodic worker delivers
    alias = conf.get("NOTIFY_TASK_BACKEND")
    # Django 5.2's backport has a default TASKS, though Django's global settings have none.
    configured = task_backends.configure_settings(getattr(settings, "TASKS", None))
    if alias not in configured:
        return [
            Error(
                f"NOTIFY_TASK_BACKEND is {alias!r}, which is not an alias of TASKS; delivery cannot "
                "be enqueued.",
                hint=f"Name one of the TASKS aliases ({', '.join(map(repr, configured))}) in "
                "NOTIFY_TASK_BACKEND, or add the alias to TASKS.",
                id="spire_notify.E081",
            )
        ]
    backend_path = configured[alias].get("BACKEND", "")
    app = _uninstalled_app_of(backend_path)
    if app is None:
        return []
    return [
        Error(
            f"TASKS[{alias!r}] is {backend_path!r}, whose app {app!r} is not in INSTALLED_APPS; "
            "enqueueing delivery would fail when a notification is written.",
            hint=f'Add "{app}" to INSTALLED_APPS and run migrate, or choose another TASKS backend.',
            id="spire_notify.E080",
        )
    ]


def _uninstalled_app_of(dotted_path):
    """The package of ``dotted_path`` that has models (so it must be an installed app to store
    anything) but is not installed; ``None`` when there is none."""
    parts = dotted_path.split(".")[:-1]
    for end in range(len(parts), 0, -1):
        package = ".".join(parts[:end])
        try:
            has_models = importlib.util.find_spec(f"{package}.models") is not None
        except ImportError:
            return None  # Django's own check of TASKS reports a backend that cannot be imported
        if has_models:
            return None if apps.is_installed(package) else package
    return None


@register(Tags.compatibility)
def check_delivery_deadline(app_configs=None, **kwargs):
    """A row sent to many destinations must end within its worker's claim (renewed once half of
    it has gone), and one destination's send must fit in the row's deadline, or none is tried.
    Only a project with such a backend is asked: the setting means nothing to the others."""
    backends = list(_destination_backends())
    if not backends:
        return []
    deadline = conf.get("NOTIFY_DELIVERY_DEADLINE_SECONDS")
    lease = conf.get("NOTIFY_LEASE_SECONDS")
    if not conf.is_seconds(deadline) or not (conf.is_seconds(lease) and 0 < deadline <= lease / 2):
        return [
            Error(
                f"NOTIFY_DELIVERY_DEADLINE_SECONDS is {deadline!r}; it must be a number of seconds above "
                f"0 and at most half of NOTIFY_LEASE_SECONDS ({lease!r}), so that a row sent to many "
                "destinations ends within its worker's claim.",
                hint="Set NOTIFY_DELIVERY_DEADLINE_SECONDS to e.g. 60, or raise NOTIFY_LEASE_SECONDS.",
                id="spire_notify.E100",
            )
        ]
    errors = (_destination_timeout_error(alias, backend.timeout, deadline) for alias, backend in backends)
    return [error for error in errors if error is not None]


def _destination_timeout_error(alias, timeout, deadline):
    if not (conf.is_seconds(timeout) and timeout > 0):
        return Error(
            f"NOTIFY_BACKENDS[{alias!r}]: 'timeout' is {timeout!r}; it must be a number of seconds above 0, "
            "which bounds each destination's send within a row's deadline.",
            hint="Set the backend's 'timeout' to e.g. 10.",
            id="spire_notify.E102",
        )
    if timeout > deadline:
        return Error(
            f"NOTIFY_BACKENDS[{alias!r}]: 'timeout' ({timeout!r} s) is longer than "
            f"NOTIFY_DELIVERY_DEADLINE_SECONDS ({deadline!r} s): not one destination could be sent to "
            "within a row's deadline.",
            hint="Lower the backend's 'timeout', or raise NOTIFY_DELIVERY_DEADLINE_SECONDS.",
            id="spire_notify.E101",
        )
    return None


def _destination_backends():
    """``(alias, backend)`` of the backends that send each row to several destinations."""
    configured = conf.backend_settings()
    for alias in configured if isinstance(configured, dict) else {}:
        try:
            backend = notify_backends.create_backend(alias)
        except InvalidNotifyBackend:
            continue  # check_backends reports it
        if backend.sends_to_destinations:
            yield alias, backend
