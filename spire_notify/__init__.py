"""spire-notify: channel-agnostic messages, delivered through swappable backends.

``Message``, ``Recipient``, ``Deferred`` and ``Channel`` are plain values, importable at any
time. ``notify`` (the write side), ``Notifier`` (which delivers with it) and
``process_notifications`` (the worker) need the models, so they are imported on first use
(PEP 562), once Django's apps are ready: this package is itself the app Django imports while it
populates the registry.
"""

from importlib import import_module

from spire_notify import conf
from spire_notify.deferred import Deferred, channel_of
from spire_notify.message import Message, Recipient
from spire_notify.notifier.channel import Channel

# name -> the module that defines it.
LAZY = {
    "notify": "spire_notify.write.notify",
    "Notifier": "spire_notify.notifier.base",
    "process_notifications": "spire_notify.worker.process",
}


def configured_channels():
    """The aliases of ``NOTIFY_BACKENDS`` (read now, so ``override_settings`` applies)."""
    return set(conf.backend_settings())


def __getattr__(name):
    if name in LAZY:
        return getattr(import_module(LAZY[name]), name)
    raise AttributeError(f"module 'spire_notify' has no attribute {name!r}")


__all__ = [
    "Channel",
    "Deferred",
    "Message",
    "Notifier",
    "Recipient",
    "channel_of",
    "configured_channels",
    "notify",
    "process_notifications",
]
