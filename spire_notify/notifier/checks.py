"""System checks of every declared Notifier: IDs ``spire_notify.E110``–``E118`` and ``W110``,
each listed in docs/reference.md.

They run at startup, so a Notifier whose channel is not configured, whose template no engine
has, whose key another class took or whose preview fails to render stops the project before a
first notification is lost in a worker.
"""

from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.utils import translation

from spire_notify import conf
from spire_notify import notification_types as types
from spire_notify.exceptions import InvalidNotifyBackend
from spire_notify.handler import notify_backends
from spire_notify.message import Recipient

# Whom a preview is rendered for, here and on the email previews page.
SAMPLE_RECIPIENT = Recipient(user_id=0, email="recipient@example.com", name="Sam Recipient")


@register(Tags.compatibility)
def check_notifiers(app_configs=None, **kwargs):
    messages = check_swaps()
    if messages:
        return messages
    for key in sorted({notifier_class.key for notifier_class in types.declared_notifiers()}):
        messages += check_key(key)
    for notifier_class in types.active_notifiers():
        messages += check_channels(notifier_class)
    return messages


@register(Tags.templates)
def check_notifier_previews(app_configs=None, **kwargs):
    """Each Notifier's preview renders on each of its channels, in the default language."""
    if check_swaps():
        return []
    messages = []
    configured = set(conf.backend_settings())
    for notifier_class in types.active_notifiers():
        # A channel that is not configured is E113's, one that cannot be built its backend
        # check's (E002-E007): the preview waits until it is.
        aliases = [channel.alias for channel in notifier_class.channels]
        if all(alias in configured and built_backend(alias) is not None for alias in aliases):
            messages += check_preview(notifier_class)
    return messages


def built_backend(alias):
    """The backend of ``alias``, or ``None`` when its entry cannot be built: the backend
    checks (``spire_notify.E002``-``E007``) say why, once."""
    try:
        return notify_backends[alias]
    except InvalidNotifyBackend:
        return None


def check_swaps():
    swaps = types.notifier_swaps()
    if not isinstance(swaps, dict):
        return [
            Error(
                f"{types.NOTIFIERS_SETTING} must be a dict of type keys to dotted paths, not {swaps!r}.",
                hint='NOTIFY_NOTIFIERS = {"billing.invoice_paid": "myproject.notifiers.InvoicePaid"}',
                id="spire_notify.E112",
            )
        ]
    messages = []
    for key, path in swaps.items():
        try:
            types.swapped_in(key, path)
        except ImproperlyConfigured as error:
            messages.append(
                Error(
                    str(error),
                    hint="Name a subclass of the Notifier that declares this key, keeping its key.",
                    id="spire_notify.E112",
                )
            )
    return messages


def check_key(key):
    classes = types.declared_notifiers(key)
    base = classes[0]
    messages = [
        Error(
            f"{_name(other)} and {_name(base)} both declare the notification type {key!r}.",
            hint="Give each Notifier its own key; to replace one, subclass it and name the subclass "
            f"in {types.NOTIFIERS_SETTING}.",
            id="spire_notify.E110",
        )
        for other in classes[1:]
        if not issubclass(other, base)
    ]
    if key in types.registered_keys():
        messages.append(
            Error(
                f"{_name(base)} declares the notification type {key!r}, which "
                "notification_types.register() declares too.",
                hint="Declare a type once: keep the Notifier and remove the register() call.",
                id="spire_notify.E111",
            )
        )
    active = types.active_notifier(key)
    messages += [
        Warning(
            f"{_name(other)} subclasses {_name(base)} and keeps its key {key!r}, but "
            f"{types.NOTIFIERS_SETTING} does not name it, so {_name(active)} sends {key!r}.",
            hint=f'To send with it: {types.NOTIFIERS_SETTING} = {{"{key}": "{_name(other)}"}}.',
            id="spire_notify.W110",
        )
        for other in classes[1:]
        if issubclass(other, base) and other is not active
    ]
    return messages


def check_channels(notifier_class):
    configured = set(conf.backend_settings())
    messages = []
    seen = set()
    for channel in notifier_class.channels:
        where = f"{_name(notifier_class)}: Channel({channel.alias!r})"
        if channel.alias in seen:
            messages.append(
                Error(
                    f"{where} is listed twice.",
                    hint="List each channel once, with its template, wait and unless.",
                    id="spire_notify.E118",
                )
            )
        seen.add(channel.alias)
        if channel.alias not in configured:
            messages.append(
                Error(
                    f"{where} is not a channel of NOTIFY_BACKENDS, so nobody would hear of "
                    f"{notifier_class.key!r} on it.",
                    hint=f"Configure NOTIFY_BACKENDS[{channel.alias!r}], or take the channel out "
                    "(subclass the Notifier and name it in NOTIFY_NOTIFIERS for a bundled one).",
                    id="spire_notify.E113",
                )
            )
            continue
        backend = built_backend(channel.alias)
        if backend is None:
            continue
        if channel.delivers_later and not backend.transmits:
            messages.append(
                Error(
                    f"{where} delivers by writing (the in-app inbox): it is there at once, so "
                    "wait= and unless= cannot apply to it.",
                    hint="Put the wait and the condition on a channel that transmits, such as email.",
                    id="spire_notify.E114",
                )
            )
        if channel.template and (problem := backend.check_template(channel.template)):
            messages.append(Error(f"{where}: {problem}", id="spire_notify.E116"))
    try:
        notifier_class.template()
    except ValueError as error:
        messages.append(
            Error(
                str(error), hint="Name one template, on the channel that renders it.", id="spire_notify.E115"
            )
        )
    return messages


def check_preview(notifier_class):
    """Render ``preview()``'s message on each channel, as the previews page would."""
    try:
        with translation.override(None):
            sample = notifier_class.preview()
            if sample is None:
                return []
            message = sample.build_message()
            for backend in filter(_can_deliver, (notify_backends[c.alias] for c in notifier_class.channels)):
                backend.render(message, SAMPLE_RECIPIENT)
    except DatabaseError:
        # Before migrate a backend may not read the Site yet; the preview is checked next time.
        return []
    except Exception as error:
        return [
            Error(
                f"{_name(notifier_class)}.preview() does not render: {type(error).__name__}: {error}",
                hint="preview() returns an instance built from unsaved sample objects, whose "
                "message() renders on every channel.",
                id="spire_notify.E117",
            )
        ]
    return []


def _can_deliver(backend):
    # A backend that could deliver nothing as configured (email under DEBUG without
    # DEVELOPMENT_EMAIL) refuses to render too; its own checks say why, once.
    try:
        backend.validate()
    except ImproperlyConfigured:
        return False
    return True


def _name(notifier_class):
    return f"{notifier_class.__module__}.{notifier_class.__qualname__}"
