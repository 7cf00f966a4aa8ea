"""The Notifier: one class per notification, declaring its type, channels, recipients, message
and preview in one place, checked at startup.

- ``channel``: ``Channel``, a plain value (importable before Django's apps are ready);
- ``base``: ``Notifier`` itself, whose ``deliver()`` is ``notify()``;
- ``checks``: the system checks of every declared Notifier (``spire_notify.E110``–``E118``).

Which class sends each key (``NOTIFY_NOTIFIERS`` swaps one) is kept with the types, in
``spire_notify.notification_types``, which the worker reads for ``unless`` conditions without
importing the write side that ``base`` stands on.
"""
