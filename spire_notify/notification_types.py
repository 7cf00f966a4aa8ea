"""Notification types: each kind of message a project sends, declared once.

A type's key is the ``event`` of the messages it covers (``"helpdesk.ticket.new"``). The
registry is the one list that the preferences page, unsubscribe links, the admin's filter and
the email previews read, so a type declared here appears everywhere at once.

A type is declared by a ``Notifier`` class (``spire_notify.notifier``), which is how a project
declares its notifications; ``register()`` declares one without a Notifier (from
``AppConfig.ready()``), for messages built and sent with ``notify()`` directly. The type of a
Notifier's key is read from the class that sends it now (``NOTIFY_NOTIFIERS`` may swap it).
"""

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from spire_notify import conf
from spire_notify.exceptions import ConflictingNotificationType, UnknownNotificationType
from spire_notify.store.choices import DeliveryMode

_registry = {}
# key -> the Notifier classes that declared it, in the order they were created.
_notifiers = {}

NOTIFIERS_SETTING = "NOTIFY_NOTIFIERS"


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
    found = lookup(key)
    if found is None:
        raise UnknownNotificationType(key)
    return found


def lookup(key):
    """The type registered as ``key``, or ``None``: messages of unregistered events are sent
    as their service decided, with no preference applied."""
    registered = _registry.get(key)
    if registered is not None:
        return registered
    notifier_class = active_notifier(key)
    return notifier_class.notification_type() if notifier_class is not None else None


def registered_keys():
    """The keys declared with ``register()``, not by a Notifier."""
    return set(_registry)


def all_types():
    """Every registered type, ordered by key: those of ``register()`` and of Notifiers."""
    keys = set(_registry) | {notifier_class.key for notifier_class in declared_notifiers()}
    return [lookup(key) for key in sorted(keys)]


def unregister(key):
    """Forget ``key``; for tests that declare types of their own."""
    _registry.pop(key, None)


# Notifier classes. Usually one class declares a key. A project swaps one without a fork by
# subclassing it, keeping its key, and naming the subclass in NOTIFY_NOTIFIERS = {key: "dotted.path"}:
# the subclass is then the one that sends the key, whose channels are the type's and whose
# ``unless`` conditions the worker asks. Until it is named, the first class declared for a key
# (the base) stays the one. The setting is read at call time, so ``override_settings`` works;
# what is wrong with it is reported by the checks (spire_notify.notifier.checks).


def declare_notifier(notifier_class):
    """Called as a ``Notifier`` subclass is created."""
    _notifiers.setdefault(notifier_class.key, []).append(notifier_class)


def forget_notifier(notifier_class):
    """Take ``notifier_class`` out; for tests that declare Notifiers of their own."""
    classes = _notifiers.get(notifier_class.key, [])
    if notifier_class in classes:
        classes.remove(notifier_class)
    if not classes:
        _notifiers.pop(notifier_class.key, None)


def declared_notifiers(key=None):
    """The classes declared for ``key``, or for every key (ordered by key) when ``key`` is None."""
    if key is not None:
        return list(_notifiers.get(key, ()))
    return [notifier_class for key in sorted(_notifiers) for notifier_class in _notifiers[key]]


def notifier_swaps():
    """``NOTIFY_NOTIFIERS``: ``{key: dotted path}``."""
    return conf.get(NOTIFIERS_SETTING) or {}


def swapped_in(key, path):
    """The class ``NOTIFY_NOTIFIERS[key]`` names; ``ImproperlyConfigured`` if it is not one."""
    try:
        notifier_class = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(
            f"{NOTIFIERS_SETTING}[{key!r}] = {path!r} cannot be imported: {error}"
        ) from error
    if getattr(notifier_class, "key", None) != key or notifier_class not in _notifiers.get(key, ()):
        raise ImproperlyConfigured(
            f"{NOTIFIERS_SETTING}[{key!r}] = {path!r} is not a Notifier of the key {key!r}: subclass the "
            "Notifier it replaces and keep its key."
        )
    return notifier_class


def active_notifier(key):
    """The class that sends ``key``, or ``None`` when no Notifier declares it."""
    path = notifier_swaps().get(key)
    if path is not None:
        return swapped_in(key, path)
    classes = _notifiers.get(key)
    return classes[0] if classes else None


def active_notifiers():
    """The class that sends each declared key, ordered by key."""
    return [active_notifier(key) for key in sorted(_notifiers)]


def unless_condition(key, alias):
    """The ``unless`` callable of channel ``alias`` of the Notifier that sends ``key``, or
    ``None``: the worker asks it of each row of that type on that channel."""
    notifier_class = active_notifier(key)
    if notifier_class is None:
        return None
    for channel in notifier_class.channels:
        if channel.alias == alias and channel.condition is not None:
            return channel.condition
    return None
