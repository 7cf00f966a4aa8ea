"""The checks of the email channel's ``failover`` option (``spire_notify.E130``-``E133``), and
the mailers it names, in the order a message tries them.

``failover`` needs Django 6.1's ``MAILERS``: on 5.2 and 6.0 there is one mailer, the one the
``EMAIL_*`` settings describe, so any alias it names is an error (``E130``, which says so), not
an option quietly ignored: a project that counts on a second mailer must learn at startup that
it has none.
"""

from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from spire_notify import conf
from spire_notify.compat import UnknownMailer, mailer_to_check
from spire_notify.exceptions import InvalidNotifyBackend
from spire_notify.handler import notify_backends

SHAPE_HINT = 'Set OPTIONS["failover"] to a MAILERS alias, e.g. "backup", or a list of them.'


def failover_aliases(backend):
    """The mailers ``backend`` sends through, in turn: its own ``mailer``, then ``failover``'s.
    Raises ``ImproperlyConfigured`` (``E132``) for a ``failover`` of the wrong shape."""
    if problem := shape_problem(backend.failover):
        raise ImproperlyConfigured(f"spire_notify.E132: {_prefix(backend)} {problem}")
    listed = [backend.failover] if isinstance(backend.failover, str) else list(backend.failover)
    return (backend.mailer, *listed)


def shape_problem(failover):
    """Why ``failover`` is not an alias or a list of them, or ``""``."""
    if isinstance(failover, str):
        return "" if failover else "'failover' is an empty string, not a MAILERS alias."
    if not isinstance(failover, (list, tuple)):
        return f"'failover' must be a MAILERS alias or a list of them, not {failover!r}."
    if not all(isinstance(alias, str) and alias for alias in failover):
        return f"'failover' must list MAILERS aliases, not {list(failover)!r}."
    return ""


def failover_errors(backend):
    """The check messages about ``backend``'s ``failover`` (none when it has none)."""
    if not backend.failover:
        return []
    if problem := shape_problem(backend.failover):
        return [Error(f"{_prefix(backend)} {problem}", hint=SHAPE_HINT, id="spire_notify.E132")]
    errors = []
    for alias in failover_aliases(backend)[1:]:
        if alias == backend.mailer:
            errors.append(
                Error(
                    f"{_prefix(backend)} 'failover' names {alias!r}, the channel's own mailer: a "
                    "mailer that failed is not tried again in the same batch.",
                    hint="List other MAILERS aliases in 'failover', the ones to send through while "
                    f"{alias!r} cannot.",
                    id="spire_notify.E131",
                )
            )
            continue
        try:
            mailer_to_check(alias)
        except UnknownMailer as error:
            errors.append(
                Error(
                    f"{_prefix(backend)} 'failover': {error}",
                    hint="Name MAILERS aliases in 'failover' (Django 6.1 or later), or remove the option.",
                    id="spire_notify.E130",
                )
            )
        except ImproperlyConfigured as error:
            errors.append(
                Error(
                    f"{_prefix(backend)} 'failover': {error}",
                    hint=f"Check MAILERS[{alias!r}] against Django's mailer documentation.",
                    id="spire_notify.E133",
                )
            )
    return errors


@register(Tags.compatibility)
def check_failover_on_other_backends(app_configs=None, **kwargs):
    """``failover`` is the email channel's option: on any other backend, say so, beside the
    general "unknown option" (``E005``) that backend raises."""
    configured = conf.backend_settings()
    if not isinstance(configured, dict):
        return []
    errors = []
    for alias, config in configured.items():
        options = config.get("OPTIONS") if isinstance(config, dict) else None
        if not isinstance(options, dict) or "failover" not in options:
            continue
        try:
            notify_backends.create_backend(alias)
        except InvalidNotifyBackend as error:
            if error.check_id != "E005":
                continue  # check_backends reports it
            errors.append(
                Error(
                    f"NOTIFY_BACKENDS[{alias!r}]: 'failover' is an option of the email channel "
                    f"(spire_notify.backends.email.EmailBackend), not of {config.get('BACKEND')!r}.",
                    hint="Remove OPTIONS['failover'] from this backend; set it on the email channel's.",
                    id="spire_notify.E132",
                )
            )
    return errors


def _prefix(backend):
    return f"NOTIFY_BACKENDS[{backend.alias!r}]:"
