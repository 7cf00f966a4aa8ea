"""The live channel's system checks: events published by a process other than the one holding
the streams (a command, cron, a task worker) reach no browser unless something relays them."""

import pytest
from django.core.checks import Warning
from django.core.checks.registry import registry
from django.test import override_settings

RELAY_WARNING = Warning(
    "NOTIFY_LIVE_UPDATES is on and EVENTSTREAM_REDIS is not set, so live events reach only the "
    "streams of the process that publishes them: notifications written or delivered by another "
    "process (a management command, cron, a task worker, another web process) appear at the next "
    "reload, not live.",
    hint="Set EVENTSTREAM_REDIS so that django-eventstream relays events between processes (or "
    "GRIP_URL, behind a Pushpin proxy); where one ASGI process writes every notification, add "
    "'spire_notify.W070' to SILENCED_SYSTEM_CHECKS.",
    id="spire_notify.W070",
)


def live_messages():
    """What the live channel app's checks report (Django's own would need the database)."""
    checks = [
        check for check in registry.get_checks() if check.__module__.startswith("spire_notify.channels.live")
    ]
    return [message for check in checks for message in check(app_configs=None)]


@override_settings(NOTIFY_LIVE_UPDATES=True)
def test_live_updates_without_a_relay_is_a_warning():
    assert live_messages() == [RELAY_WARNING]


@pytest.mark.parametrize(
    "relay",
    [
        {"EVENTSTREAM_REDIS": {"host": "127.0.0.1", "port": 6379, "db": 0}},
        {"GRIP_URL": "http://localhost:5561"},
        {"GRIP_PROXIES": [{"control_uri": "http://localhost:5561"}]},
    ],
    ids=["redis", "grip-url", "grip-proxies"],
)
def test_a_relay_between_processes_silences_it(relay):
    with override_settings(NOTIFY_LIVE_UPDATES=True, **relay):
        assert live_messages() == []


@override_settings(NOTIFY_LIVE_UPDATES=False)
def test_polling_needs_no_relay():
    assert live_messages() == []
