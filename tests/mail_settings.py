"""The settings that point Django's email at one mail backend, on every supported Django.

Django 6.1 reads ``MAILERS``; 5.2 and 6.0 read the ``EMAIL_*`` settings that it replaced (see
``spire_notify.compat``). Tests and test settings build them here, to override or to assign,
instead of writing ``MAILERS`` and leaving the older versions on their default SMTP backend.
"""

from spire_notify.compat import HAS_MAILERS
from spire_notify.conf import DEFAULT_NOTIFY_BACKENDS

SMTP = "django.core.mail.backends.smtp.EmailBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"

# A MAILERS option of Django's SMTP backend, and the setting that configured it before 6.1.
EMAIL_SETTING_OF_OPTION = {
    "host": "EMAIL_HOST",
    "port": "EMAIL_PORT",
    "username": "EMAIL_HOST_USER",
    "password": "EMAIL_HOST_PASSWORD",
    "use_tls": "EMAIL_USE_TLS",
    "use_ssl": "EMAIL_USE_SSL",
    "timeout": "EMAIL_TIMEOUT",
    "ssl_keyfile": "EMAIL_SSL_KEYFILE",
    "ssl_certfile": "EMAIL_SSL_CERTFILE",
}


def mailer_settings(backend, **options):
    """The settings of a "default" mailer of class ``backend``, given its MAILERS ``options``."""
    if HAS_MAILERS:
        return {"MAILERS": {"default": {"BACKEND": backend, "OPTIONS": options}}}
    return {
        "EMAIL_BACKEND": backend,
        **{EMAIL_SETTING_OF_OPTION[name]: value for name, value in options.items()},
    }


def smtp_settings(port, *, timeout=10):
    """The settings of a "default" mailer sending to the SMTP server on 127.0.0.1:``port``, with
    ``timeout`` (``None``: the mailer sets none)."""
    options = {"host": "127.0.0.1", "port": port} | ({} if timeout is None else {"timeout": timeout})
    return mailer_settings(SMTP, **options)


def email_connections(count):
    """The default channels, with the email channel sending each batch over ``count``
    connections side by side (its ``connections`` option)."""
    email = DEFAULT_NOTIFY_BACKENDS["email"]
    return {
        "NOTIFY_BACKENDS": {
            **DEFAULT_NOTIFY_BACKENDS,
            "email": {**email, "OPTIONS": {**email["OPTIONS"], "connections": count}},
        }
    }
