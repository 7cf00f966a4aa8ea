"""The demo's settings send through an SMTP mailer with a timeout, on every supported Django."""

import importlib

from django.test import override_settings

from spire_notify.channels.email.backend import EmailBackend
from spire_notify.compat import get_mailer


def test_the_demo_mailer_has_a_timeout():
    demo_settings = importlib.import_module("demo.settings")
    mail = {
        name: value
        for name, value in vars(demo_settings).items()
        if name == "MAILERS" or name.startswith("EMAIL_")
    }
    with override_settings(**mail):
        mailer = get_mailer("default")
        assert [message.id for message in EmailBackend(alias="email", domain="example.com").check()] == []
    assert (mailer.host, mailer.port, mailer.timeout) == ("127.0.0.1", demo_settings.SMTP_PORT, 10)
