"""``NOTIFY_BACKENDS``: aliases to lazily built backends, like Django's ``TASKS`` and ``MAILERS``."""

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from spire_notify import conf
from spire_notify.exceptions import InvalidNotifyBackend, UnknownChannel

MOVED_PACKAGE = "backends."


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

    def create_backend(self, alias):
        from spire_notify.backends.base import BaseNotificationBackend

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
        path = config["BACKEND"]
        if path.startswith(MOVED_PACKAGE):
            # 0.1 installed the backends as a top-level package; they live under spire_notify now.
            raise InvalidNotifyBackend(
                alias,
                f"{path!r} is the backends' old path; it is {'spire_notify.' + path!r} now.",
                check_id="E009",
            )
        try:
            backend_class = import_string(path)
        except ImportError as error:
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
