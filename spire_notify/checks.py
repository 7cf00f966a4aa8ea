"""System checks: misconfiguration fails at startup, naming the setting to fix.

IDs are stable; the reference page of the docs lists each with its fix.
"""

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, register

from . import conf
from .exceptions import InvalidNotifyBackend
from .handler import notify_backends

BACKEND_HINTS = {
    "E001": 'NOTIFY_BACKENDS maps aliases to {"BACKEND": "dotted.path", "OPTIONS": {...}}.',
    "E002": 'Give the alias a "BACKEND", e.g. "spire_notify.backends.email.EmailBackend".',
    "E003": "Check the dotted path and that its package is installed.",
    "E004": "A backend subclasses spire_notify.backends.base.BaseNotificationBackend.",
    "E005": "Remove the option, or check its spelling against the backend's documentation.",
    "E006": 'An entry has only "BACKEND" and "OPTIONS"; check the spelling of the other key.',
    "E007": 'Make "OPTIONS" a dict of the backend\'s keyword arguments.',
    "E008": 'Make the entry a dict: {"BACKEND": "dotted.path", "OPTIONS": {...}}.',
    "E009": 'Prefix the path with "spire_notify.", e.g. "spire_notify.backends.email.EmailBackend".',
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
            messages.extend(backend.check())
    return messages


def _backend_error(error):
    return Error(str(error), hint=BACKEND_HINTS[error.check_id], id=f"spire_notify.{error.check_id}")


def site_errors(alias):
    """Why the current Site cannot give backend ``alias`` the domain of its absolute URLs.

    Not registered on its own: only a backend that takes its domain from the Site (the email
    backend without a "domain" option) reports these, from its ``check()``.
    """
    if not apps.is_installed("django.contrib.sites"):
        return [
            Error(
                f"NOTIFY_BACKENDS[{alias!r}]: django.contrib.sites is not in INSTALLED_APPS; absolute "
                "URLs in email need the current Site's domain.",
                hint='Add "django.contrib.sites" to INSTALLED_APPS and set SITE_ID, or give the '
                'backend a "domain" option.',
                id="spire_notify.E020",
            )
        ]
    if not getattr(settings, "SITE_ID", None):
        return [
            Error(
                f"NOTIFY_BACKENDS[{alias!r}]: SITE_ID is not set; outside a request there is no "
                "current Site to take the domain of email links from.",
                hint="Set SITE_ID = 1 (and the Site's domain in the admin), or give the backend a "
                '"domain" option.',
                id="spire_notify.E021",
            )
        ]
    return []
