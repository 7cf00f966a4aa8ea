"""What differs between the supported Django versions (5.2 LTS, 6.0, 6.1), and nothing else.

- **Background tasks.** Django 6.0 and later ship ``django.tasks``; on 5.2 the same API comes
  from the ``django-tasks`` backport, imported as ``django_tasks``. The choice is made the way
  django-tasks-db makes it (``django.tasks`` whenever it exists), so that our task, our
  ``TASKS`` backends and django-tasks-db's always share one task framework.
  ``TASKS_MODULE`` names the one in use, for dotted paths such as the immediate backend's.
- **Email.** Django 6.1 configures named mailers in ``MAILERS`` (``django.core.mail.mailers``)
  and deprecates ``get_connection()``; 5.2 and 6.0 have only ``get_connection()``, which builds
  the one mailer the ``EMAIL_*`` settings describe. ``get_mailer(alias)``,
  ``mailer_to_check(alias)`` and ``timeout_setting(alias)`` answer the same questions on both,
  and never touch the API that the running version deprecates.
- **Building a message.** Django 6.0 builds email with the modern ``email`` API
  (``EmailMessage.message(policy=...)``, the SMTP mailer's ``prep_address()``); the email
  backend's flattened SMTP path (``spire_notify.pinned.django_smtp``) reuses both, so
  ``FLATTENED_SMTP`` is off on 5.2, where email goes through the mailer's ``send_messages()``.
  ``LEGACY_EMAIL_POLICY``: 5.2 builds it with the legacy one (``email.policy.compat32``),
  which folds a long header its own way (the email channel keeps List-Unsubscribe on one line).

Everything else in spire-notify imports these names from here, never from Django or the
backport directly.
"""

from importlib.util import find_spec

import django
from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "DEFAULT_MAILER",
    "DEFAULT_TASK_QUEUE_NAME",
    "FLATTENED_SMTP",
    "HAS_MAILERS",
    "LEGACY_EMAIL_POLICY",
    "TASKS_MODULE",
    "BaseTaskBackend",
    "TaskResult",
    "TaskResultStatus",
    "UnknownMailer",
    "get_mailer",
    "mailer_to_check",
    "timeout_setting",
    "task",
    "task_backends",
    "task_enqueued",
]

if find_spec("django.tasks"):
    from django.tasks import task, task_backends
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import DEFAULT_TASK_QUEUE_NAME, TaskResult, TaskResultStatus
    from django.tasks.signals import task_enqueued

    TASKS_MODULE = "django.tasks"
else:
    from django_tasks import task, task_backends
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import DEFAULT_TASK_QUEUE_NAME, TaskResult, TaskResultStatus
    from django_tasks.signals import task_enqueued

    TASKS_MODULE = "django_tasks"

DEFAULT_MAILER = "default"
HAS_MAILERS = hasattr(mail, "mailers")
FLATTENED_SMTP = django.VERSION >= (6, 0)
LEGACY_EMAIL_POLICY = django.VERSION < (6, 0)


class UnknownMailer(ImproperlyConfigured):
    """No mailer has this alias."""


def get_mailer(alias):
    """A new, unopened email connection for the mailer ``alias``.

    Raises ``UnknownMailer`` when there is no such mailer, and ``ImproperlyConfigured`` when
    its configuration cannot be built.
    """
    if not HAS_MAILERS:
        if alias != DEFAULT_MAILER:
            raise UnknownMailer(_only_the_default_mailer(alias))
        try:
            return mail.get_connection()
        except ImportError as error:
            raise ImproperlyConfigured(
                f"EMAIL_BACKEND: could not import {settings.EMAIL_BACKEND!r}: {error}"
            ) from error
    if alias not in mail.mailers and not (alias == DEFAULT_MAILER and not hasattr(settings, "MAILERS")):
        raise UnknownMailer(f"the mailer {alias!r} is not in MAILERS.")
    return mail.mailers[alias]


def mailer_to_check(alias):
    """The mailer ``alias`` for a system check, or ``None`` where building it would warn.

    Django 6.1 without ``MAILERS`` builds its default mailer from the deprecated ``EMAIL_*``
    settings, with a deprecation warning: that happens when sending, not in ``check``. Raises
    what ``get_mailer`` raises.
    """
    if HAS_MAILERS and alias == DEFAULT_MAILER and not hasattr(settings, "MAILERS"):
        return None
    return get_mailer(alias)


def timeout_setting(alias):
    """Where the timeout of the mailer ``alias`` is set, for messages that ask to set it."""
    if HAS_MAILERS:
        return f'"timeout" in MAILERS[{alias!r}]["OPTIONS"]'
    return "EMAIL_TIMEOUT"


def _only_the_default_mailer(alias):
    version = ".".join(map(str, django.VERSION[:2]))
    return (
        f"the mailer {alias!r} needs MAILERS (Django 6.1 or later); Django {version} has only "
        f"the {DEFAULT_MAILER!r} mailer, configured by the EMAIL_* settings."
    )
