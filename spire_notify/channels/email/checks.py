"""The email backend's system checks: the settings it needs, its mailer, its template."""

from django.conf import settings
from django.core.checks import Error, Warning
from django.core.exceptions import ImproperlyConfigured

from spire_notify import conf
from spire_notify.channels.email.templated import inliner_errors, template_errors
from spire_notify.compat import UnknownMailer, mailer_to_check, timeout_setting


def email_backend_messages(backend):
    """Every check message about the email backend ``backend``."""
    errors = []
    if settings.DEBUG and not getattr(settings, "DEVELOPMENT_EMAIL", ""):
        errors.append(
            Error(
                "DEBUG is on and DEVELOPMENT_EMAIL is not set, so email would reach real "
                "recipients; spire-notify sends none until it is set.",
                hint="Set DEVELOPMENT_EMAIL to the inbox that receives all email in development.",
                id="spire_notify.E010",
            )
        )
    if not (backend.from_email or settings.DEFAULT_FROM_EMAIL):
        errors.append(
            Error(
                "DEFAULT_FROM_EMAIL is empty; notification email needs a From address.",
                hint="Set DEFAULT_FROM_EMAIL, or the email backend's 'from_email' option.",
                id="spire_notify.E011",
            )
        )
    mailer, mailer_problem = built_mailer(backend)
    if mailer_problem:
        errors.append(mailer_problem)
    elif mailer is not None:
        errors.extend(timeout_warnings(backend, mailer))
    errors.extend(template_errors(backend.alias, backend.template, backend.engine))
    errors.extend(backend.link_errors())
    errors.extend(inliner_errors(backend.alias, backend.inliner))
    return errors


def built_mailer(backend):
    """``(mailer, None)``, or ``(None, the Error saying why it cannot be built)``; building a
    mailer opens no connection."""
    prefix = f"NOTIFY_BACKENDS[{backend.alias!r}]:"
    try:
        return mailer_to_check(backend.mailer), None
    except UnknownMailer as error:
        return None, Error(
            f"{prefix} {error}", hint="Name a MAILERS alias in the 'mailer' option.", id="spire_notify.E013"
        )
    except ImproperlyConfigured as error:
        return None, Error(
            f"{prefix} {error}",
            hint=f"Check MAILERS[{backend.mailer!r}] against Django's mailer documentation.",
            id="spire_notify.E018",
        )


def timeout_warnings(backend, mailer):
    if not hasattr(mailer, "timeout"):
        return []  # not a network mailer (locmem, console, file)
    lease = conf.get("NOTIFY_LEASE_SECONDS")
    prefix = f"NOTIFY_BACKENDS[{backend.alias!r}]: the mailer {backend.mailer!r}"
    if mailer.timeout is None:
        return [
            Warning(
                f"{prefix} sets no timeout; spire-notify applies {backend.timeout} s to each of its "
                "network operations.",
                hint=f"Set {timeout_setting(backend.mailer)}, e.g. 10.",
                id="spire_notify.W010",
            )
        ]
    # The claim is renewed once half the lease is gone; a message that may take longer
    # than that could still be on the wire when the claim lapses.
    if mailer.timeout > lease / 2:
        return [
            Warning(
                f"{prefix} waits up to {mailer.timeout} s, more than half of "
                f"NOTIFY_LEASE_SECONDS ({lease} s): a worker waiting on one message could "
                "not keep its claim.",
                hint="Lower the mailer's timeout, or raise NOTIFY_LEASE_SECONDS.",
                id="spire_notify.W011",
            )
        ]
    return []
