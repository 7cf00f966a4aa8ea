"""The live inbox's system checks: its library is installed, its limits are numbers, and events
published outside the process that holds the streams have a relay to reach them.

Every process runs these at startup (the web server, ``process_notifications``, a task worker's
``db_worker``, a management command), so W070 shows where it matters: in the output of the
processes whose events would reach no browser.
"""

import importlib.util

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from spire_notify import conf
from spire_notify.channels.live.events import enabled

# django-eventstream's ways to reach the streams of other processes: Redis pub/sub, or a
# Pushpin/GRIP proxy (django-grip's settings) that holds the streams itself.
RELAY_SETTINGS = ("EVENTSTREAM_REDIS", "GRIP_URL", "GRIP_PROXIES")


@register(Tags.compatibility)
def check_live_updates(app_configs=None, **kwargs):
    if not enabled() or importlib.util.find_spec("django_eventstream") is not None:
        return []
    return [
        Error(
            "NOTIFY_LIVE_UPDATES is on, but django-eventstream is not installed.",
            hint="pip install 'spire-notify[live]', or set NOTIFY_LIVE_UPDATES = False to poll.",
            id="spire_notify.E070",
        )
    ]


@register(Tags.compatibility)
def check_live_stream_settings(app_configs=None, **kwargs):
    errors = []
    limit = conf.get("NOTIFY_LIVE_MAX_STREAMS_PER_USER")
    if not conf.is_positive_whole_number(limit):
        errors.append(
            Error(
                f"NOTIFY_LIVE_MAX_STREAMS_PER_USER must be a positive whole number, not {limit!r}.",
                hint="The streams one user may hold open at once, per process; the default is 10.",
                id="spire_notify.E071",
            )
        )
    every = conf.get("NOTIFY_LIVE_SESSION_CHECK_SECONDS")
    if not (conf.is_seconds(every) and every > 0):
        errors.append(
            Error(
                f"NOTIFY_LIVE_SESSION_CHECK_SECONDS must be a positive number of seconds, not {every!r}.",
                hint="How soon a stream ends after its session does; the default is 15.",
                id="spire_notify.E072",
            )
        )
    return errors


@register(Tags.compatibility)
def check_live_relay(app_configs=None, **kwargs):
    """Events go to the streams of the publishing process only, unless relayed: an in-app row
    written by a command, or delivered later by a worker, would never reach the open inbox."""
    if not enabled() or importlib.util.find_spec("django_eventstream") is None:
        return []  # polling, or E070
    if any(getattr(settings, name, None) for name in RELAY_SETTINGS):
        return []
    return [
        Warning(
            "NOTIFY_LIVE_UPDATES is on and EVENTSTREAM_REDIS is not set, so live events reach only "
            "the streams of the process that publishes them: notifications written or delivered by "
            "another process (a management command, cron, a task worker, another web process) "
            "appear at the next reload, not live.",
            hint="Set EVENTSTREAM_REDIS so that django-eventstream relays events between processes "
            "(or GRIP_URL, behind a Pushpin proxy); where one ASGI process writes every "
            "notification, add 'spire_notify.W070' to SILENCED_SYSTEM_CHECKS.",
            id="spire_notify.W070",
        )
    ]
