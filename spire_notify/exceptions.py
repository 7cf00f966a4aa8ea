from django.core.exceptions import ImproperlyConfigured


class InvalidNotifyBackend(ImproperlyConfigured):
    """A ``NOTIFY_BACKENDS`` entry cannot be built. ``check_id`` names the system check."""

    def __init__(self, alias, problem, *, check_id):
        self.alias = alias
        self.check_id = check_id
        super().__init__(f"NOTIFY_BACKENDS[{alias!r}]: {problem}")


class UnknownChannel(ImproperlyConfigured):
    def __init__(self, alias):
        self.alias = alias
        super().__init__(f"NOTIFY_BACKENDS has no backend {alias!r}.")


class ChannelNotOffered(ValueError):
    """A channel named for a type that is not sent on it: a typo, or a channel the type should
    list. Raised by ``notify()`` and ``set_preference()`` (``caller``) before anything is written."""

    def __init__(self, type_key, channel, channels, *, caller="notify()"):
        self.type_key = type_key
        self.channel = channel
        offered = ", ".join(channels) or "none"
        super().__init__(
            f"{caller}: the type {type_key!r} is not sent on {channel!r}; its channels are: {offered}. "
            "List it in the type's channels."
        )


class Undeliverable(Exception):
    """Raised while rendering a notification that no retry could deliver (an address that is
    not one mailbox, a template that does not exist): its row fails at once, with the reason."""


class UnknownNotificationType(LookupError):
    """No notification type is registered under ``key``."""

    def __init__(self, key, message=None):
        self.key = key
        super().__init__(
            message
            or f"No notification type {key!r} is registered; declare it with "
            "spire_notify.notification_types.register() in your AppConfig.ready()."
        )


class ConflictingNotificationType(ImproperlyConfigured):
    """Two different declarations of one key: which one holds would depend on import order."""

    def __init__(self, key):
        self.key = key
        super().__init__(f"The notification type {key!r} is already registered with other settings.")


class MandatoryNotificationType(ValueError):
    """A mandatory type (a security notice, say) cannot be switched off."""

    def __init__(self, key):
        self.key = key
        super().__init__(f"The notification type {key!r} is mandatory; it cannot be switched off.")


class WorkerStopped(BaseException):
    """Raised (from a signal handler) to abandon a send that outlives a stop's grace period.

    A ``BaseException`` so that no ``except Exception`` on the way, a backend's included, can
    swallow it; the rows of the interrupted batch are handed back as it passes.
    """
