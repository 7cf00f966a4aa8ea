"""Notification types: each kind of message a project sends, declared once.

A type's key is the ``event`` of the messages it covers (``"helpdesk.ticket.new"``). The
registry is the one list that the preferences page, unsubscribe links, the admin's filter and
the email previews read, so a type declared here appears everywhere at once. Apps declare
theirs from ``AppConfig.ready()``.
"""

from dataclasses import dataclass

from spire_notify.exceptions import ConflictingNotificationType, UnknownNotificationType
from spire_notify.store.choices import DeliveryMode

_registry = {}


@dataclass(frozen=True, kw_only=True)
class NotificationType:
    """The channels a type is sent on: ``default_channels`` are on until a recipient switches
    them off; ``optional_channels`` are off until a recipient turns them on. A type is sent on
    no other channel, and the preferences page offers no other.

    A ``mandatory`` type cannot be switched off: its messages reach every channel the sender
    names, and its emails carry no unsubscribe link.
    """

    key: str
    name: str
    description: str = ""
    default_channels: tuple[str, ...] = ()
    optional_channels: tuple[str, ...] = ()
    mandatory: bool = False

    @property
    def channels(self):
        """Every channel the type is sent on: its default channels, then its optional ones."""
        return tuple(dict.fromkeys((*self.default_channels, *self.optional_channels)))

    def default_mode(self, channel):
        if self.mandatory or channel in self.default_channels:
            return DeliveryMode.IMMEDIATE
        return DeliveryMode.OFF


def register(key, *, name, description="", default_channels=(), optional_channels=(), mandatory=False):
    """Declare the type ``key`` and return it. Declaring the same type again is harmless;
    declaring ``key`` with other settings is an error."""
    declared = NotificationType(
        key=key,
        name=name,
        description=description,
        default_channels=tuple(default_channels),
        optional_channels=tuple(optional_channels),
        mandatory=mandatory,
    )
    existing = _registry.setdefault(key, declared)
    if existing != declared:
        raise ConflictingNotificationType(key)
    return declared


def get_type(key):
    """The type registered as ``key``; ``UnknownNotificationType`` if there is none."""
    try:
        return _registry[key]
    except KeyError:
        raise UnknownNotificationType(key) from None


def lookup(key):
    """The type registered as ``key``, or ``None``: messages of unregistered events are sent
    as their service decided, with no preference applied."""
    return _registry.get(key)


def all_types():
    """Every registered type, ordered by key."""
    return [_registry[key] for key in sorted(_registry)]


def unregister(key):
    """Forget ``key``; for tests that declare types of their own."""
    _registry.pop(key, None)
