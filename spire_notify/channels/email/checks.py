"""The email channel's system checks: the settings an email backend needs, its mailer, its
template (run by ``EmailBackend.check()``), and two about the project (registered when the app is
ready): a Jinja2 engine must translate, and the From address must not be Django's placeholder."""

import jinja2
from django.conf import global_settings, settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.template import engines
from django.template.backends.jinja2 import Jinja2

from spire_notify import conf
from spire_notify.channels.email.failover_checks import failover_errors
from spire_notify.channels.email.templated import inliner_errors, template_errors
from spire_notify.compat import UnknownMailer, mailer_to_check, timeout_setting
from spire_notify.exceptions import InvalidNotifyBackend
from spire_notify.handler import notify_backends

DEBUG_WITHOUT_DEVELOPMENT_EMAIL = (
    "DEBUG is on and DEVELOPMENT_EMAIL is not set, so email would reach real recipients; "
    "spire-notify sends none until it is set."
)


def debug_without_development_email():
    return settings.DEBUG and not getattr(settings, "DEVELOPMENT_EMAIL", "")


def refuse_to_send_without_development_email():
    """Raise ``spire_notify.E010`` (``ImproperlyConfigured``) where DEBUG is on and
    DEVELOPMENT_EMAIL is not set: what sends email calls this before it starts."""
    if debug_without_development_email():
        raise ImproperlyConfigured(f"spire_notify.E010: {DEBUG_WITHOUT_DEVELOPMENT_EMAIL}")


def email_backend_messages(backend):
    """Every check message about the email backend ``backend``."""
    errors = []
    if debug_without_development_email():
        # A Warning, not an Error: Django stops every command that runs the checks at an Error,
        # migrate included, and only sending needs the inbox. What sends refuses on its own:
        # the worker's validate() raises E010 before it claims a row.
        errors.append(
            Warning(
                DEBUG_WITHOUT_DEVELOPMENT_EMAIL,
                hint="Set DEVELOPMENT_EMAIL to the inbox that receives all email in development. Until "
                "then the worker refuses to start (spire_notify.E010); commands that send no email, "
                "such as migrate, run.",
                id="spire_notify.W013",
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
    errors.extend(failover_errors(backend))
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


@register(Tags.templates)
def check_jinja2_translates(app_configs=None, **kwargs):
    """The Jinja2 email templates mark their text with {% trans %}: an engine that renders
    them needs the i18n extension and Django's gettext installed."""
    errors = []
    for engine in engines.all():
        if not isinstance(engine, Jinja2) or {"gettext", "get_language"} <= set(engine.env.globals):
            continue
        try:
            # The source only: compiling is what fails without the extension.
            engine.env.loader.get_source(engine.env, "spire_notify/email/base.html")
        except jinja2.TemplateNotFound:
            continue
        errors.append(
            Error(
                f"The Jinja2 engine {engine.name!r} does not translate, so it cannot render "
                "spire-notify's email templates (they use {% trans %}).",
                hint='Set its OPTIONS["environment"] to "spire_notify.jinja2_env.environment", or add '
                "the jinja2.ext.i18n extension to yours and pass it to "
                "spire_notify.jinja2_env.install_translations().",
                id="spire_notify.E042",
            )
        )
    return errors


@register(Tags.compatibility)
def check_from_address(app_configs=None, **kwargs):
    """Django's placeholder From address passes every other check, and is rejected or marked as
    spam by real mail servers."""
    if settings.DEFAULT_FROM_EMAIL != global_settings.DEFAULT_FROM_EMAIL:
        return []
    configured = conf.backend_settings()
    aliases = configured if isinstance(configured, dict) else {}
    return [
        Warning(
            f"NOTIFY_BACKENDS[{alias!r}] sends from DEFAULT_FROM_EMAIL, which is Django's placeholder "
            f"{global_settings.DEFAULT_FROM_EMAIL!r}: mail servers refuse it or file it as spam.",
            hint="Set DEFAULT_FROM_EMAIL to an address of your domain, or the backend's 'from_email' option.",
            id="spire_notify.W012",
        )
        for alias in aliases
        if _sends_from_default_address(alias)
    ]


def _sends_from_default_address(alias):
    try:
        backend = notify_backends.create_backend(alias)
    except InvalidNotifyBackend:
        return False  # check_backends reports it
    # A backend that takes a From address has the option; unset, DEFAULT_FROM_EMAIL is used.
    return hasattr(backend, "from_email") and not backend.from_email
