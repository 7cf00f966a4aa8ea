"""``NOTIFY_BACKENDS``: aliases to lazily built backends, like Django's ``TASKS`` and ``MAILERS``."""

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from spire_notify import conf
from spire_notify.backends.base import BaseNotificationBackend
from spire_notify.channel_apps import uninstalled_channel_of
from spire_notify.exceptions import InvalidNotifyBackend, UnknownChannel

# The paths the bundled backends were configured by before each channel became an app; they
# keep working (the README and older settings name them), as names of the new paths.
BUNDLED_BACKENDS = {
    "spire_notify.backends.app.AppBackend": "spire_notify.channels.app.backend.AppBackend",
    "spire_notify.backends.email.EmailBackend": "spire_notify.channels.email.backend.EmailBackend",
    "spire_notify.backends.webhook.WebhookBackend": "spire_notify.channels.webhook.backend.WebhookBackend",
    "spire_notify.backends.apprise.AppriseBackend": "spire_notify.channels.apprise.backend.AppriseBackend",
    "spire_notify.backends.webpush.WebPushBackend": "spire_notify.channels.webpush.backend.WebPushBackend",
}
# 0.1 installed the backends as a top-level package ``backends``; a project's own package of
# that name is its own business, so the old path is only named when nothing answers to it.
OLD_PACKAGE = "backends."


class NotifyBackendsHandler:
    """Builds each backend once, as ``Backend(alias=alias, **OPTIONS)``, on first use."""

    def __init__(self):
        self._backends = {}

    @property
    def settings(self):
        return conf.backend_settings()

    def __getitem__(self, alias):
        try:
            return self._backends[alias]
        except KeyError:
            backend = self._backends[alias] = self.create_backend(alias)
            return backend

    def __iter__(self):
        return iter(self.settings)

    def __contains__(self, alias):
        return alias in self.settings

    def all(self):
        return [self[alias] for alias in self]

    def of_class(self, backend_class):
        """The configured backends that are ``backend_class``es."""
        return [backend for backend in self.all() if isinstance(backend, backend_class)]

    def create_backend(self, alias):
        if not isinstance(self.settings, dict):
            raise InvalidNotifyBackend(alias, "NOTIFY_BACKENDS must be a dict.", check_id="E001")
        if alias not in self.settings:
            raise UnknownChannel(alias)
        config = self.settings[alias]
        if not isinstance(config, dict):
            raise InvalidNotifyBackend(alias, "the entry must be a dict.", check_id="E008")
        if not config.get("BACKEND"):
            raise InvalidNotifyBackend(alias, "no 'BACKEND' is set.", check_id="E002")
        unknown_keys = sorted(set(config) - {"BACKEND", "OPTIONS"})
        if unknown_keys:
            # A misspelt "OPTIONS" would otherwise drop every option without a word.
            raise InvalidNotifyBackend(
                alias,
                f"unknown key {unknown_keys[0]!r}; an entry has only 'BACKEND' and 'OPTIONS'.",
                check_id="E006",
            )
        options = config.get("OPTIONS", {})
        if not isinstance(options, dict):
            raise InvalidNotifyBackend(alias, "'OPTIONS' must be a dict.", check_id="E007")
        path = BUNDLED_BACKENDS.get(config["BACKEND"], config["BACKEND"])
        channel_app = uninstalled_channel_of(path)
        if channel_app:
            raise InvalidNotifyBackend(
                alias,
                f"{config['BACKEND']!r} is a backend of the channel app {channel_app!r}, which is not in "
                "INSTALLED_APPS.",
                check_id="E022",
            )
        try:
            backend_class = import_string(path)
        except ImportError as error:
            if path.startswith(OLD_PACKAGE) and "spire_notify." + path in BUNDLED_BACKENDS:
                raise InvalidNotifyBackend(
                    alias,
                    f"{path!r} is the backends' old path; it is {'spire_notify.' + path!r} now.",
                    check_id="E009",
                ) from error
            raise InvalidNotifyBackend(
                alias, f"could not import {path!r}: {error}", check_id="E003"
            ) from error
        if not (isinstance(backend_class, type) and issubclass(backend_class, BaseNotificationBackend)):
            raise InvalidNotifyBackend(
                alias,
                f"{path!r} is not a subclass of spire_notify.backends.base.BaseNotificationBackend.",
                check_id="E004",
            )
        return backend_class(alias=alias, **options)

    def reset(self):
        self._backends = {}


notify_backends = NotifyBackendsHandler()


@receiver(setting_changed)
def _reset_backends(*, setting, **kwargs):
    # Backends take their OPTIONS at construction, so a changed configuration needs new ones.
    if setting in {"NOTIFY_BACKENDS", "INSTALLED_APPS"}:
        notify_backends.reset()
