"""``notify()``: write the notifications of one message, and deliver them after commit."""

import json
import logging
from collections import defaultdict
from dataclasses import replace
from functools import partial

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models, transaction
from django.utils import translation

from spire_notify import clock, conf
from spire_notify.deferred import channel_of, delivery_times, row_timing
from spire_notify.escalation import insert_notifications
from spire_notify.fanout import notify_audience
from spire_notify.handler import notify_backends
from spire_notify.i18n import group_by_language, language_chooser, language_for
from spire_notify.message import Recipient
from spire_notify.models import Notification, NotificationStatus
from spire_notify.pinned.django_bulk_insert import copy_of, insert_rows
from spire_notify.preferences import wanted_modes

logger = logging.getLogger("spire_notify")


def notify(message, recipients, *, channels=None, send_after=None, using=None):
    """Write one notification per (recipient, channel) and deliver them.

    ``message`` is a ``Message``, or a function of no arguments that builds one: ``notify()``
    then calls it once per language of the recipients, inside ``translation.override()``, so
    that titles and bodies are written in each recipient's language (``NOTIFY_RECIPIENT_LANGUAGE``).

    ``recipients`` is either a mapping of each recipient to the ``NOTIFY_BACKENDS`` aliases
    that should reach it, or any iterable of recipients (a ``QuerySet`` of users, say) that all
    get ``channels``. A recipient is a user, or an email address for a guest with no account.

    - A channel named twice for a recipient counts once. A channel that cannot reach a
      recipient (email without an address, an in-app inbox for a guest) is skipped, and so
      are inactive users and the channels a recipient switched off for the message's type
      (``spire_notify.preferences``; a mandatory type ignores "off").
    - The queries issued do not grow with the number of recipients: one to read preferences,
      one insert per table. Runs inside the caller's transaction, so a rollback leaves nothing
      behind and sends nothing.
    - Channels that deliver by writing (the in-app inbox) are rendered and written ``sent``
      here: they are in the inbox the moment the transaction commits. The others are
      delivered by a worker, enqueued with the task framework on commit.

    Raises ``ValidationError``, with nothing written, for a message the database cannot store.
    Returns the saved notifications. A ``QuerySet`` of users is written by the database
    (``spire_notify.fanout``), and what it returns is a lazy ``QuerySet`` of them.
    """
    if isinstance(recipients, models.QuerySet) and channels and all(isinstance(c, str) for c in channels):
        return notify_audience(message, recipients, channels, send_after=send_after, using=using)
    wanted = {
        key: channels
        for key, channels in _channels_by_recipient(recipients, channels)
        if isinstance(key, str) or getattr(key, "is_active", True)
    }
    groups = language_groups(wanted)
    messages = {language: message_in(message, language) for language in groups}
    if not messages:
        return []
    wanted = wanted_modes(next(iter(messages.values())).event, wanted)
    now = clock.now()
    due = send_after or now
    prototypes = {language: _prototype(built, now, due) for language, built in messages.items()}
    planned = []
    for language, keys in groups.items():
        for key in filter(wanted.__contains__, keys):
            user, recipient = _recipient(key)
            for entry, mode in wanted[key]:
                alias = channel_of(entry)
                backend = notify_backends[alias]
                if backend.accepts(recipient):
                    timing = row_timing(entry, mode, backend, user, due)
                    notification = copy_of(prototypes[language], user=user, channel=alias, **timing)
                    planned.append((backend, notification, recipient, messages[language]))
    if not planned:
        return []
    delivered_by_writing = _write_sent(planned, now) if send_after is None else []
    notifications = [notification for _, notification, _, _ in planned]
    with transaction.atomic(using=using):
        insert_notifications(planned, using)
        _create_details(planned, using)
        if delivered_by_writing:
            transaction.on_commit(lambda: _signal_sent(delivered_by_writing), using=using)
        for run_after in delivery_times(notifications):
            transaction.on_commit(partial(enqueue_delivery, run_after), using=using)
    return notifications


def message_in(message, language):
    """``message`` as written for readers of ``language``, validated: a builder is called in
    that language; a plain ``Message`` is the same text for every language."""
    if callable(message):
        with translation.override(language):
            message = message()
    message = replace(message, language=language)
    validate_message(message)
    return message


def language_groups(wanted):
    """``{language: [recipient key, ...]}``; one group, with no per-recipient call, when no
    ``NOTIFY_RECIPIENT_LANGUAGE`` is set."""
    if not wanted:
        return {}
    if language_chooser() is None:
        return {language_for(None): list(wanted)}
    return group_by_language(wanted)


def _prototype(message, now, due):
    target_type, target_id = _target_key(message.target)
    return Notification(
        event=message.event,
        title=message.title,
        payload=message.to_payload(),
        content_type=target_type,
        object_id=target_id,
        send_after=due,
        next_attempt_at=due,
        created_at=now,
    )


def validate_message(message):
    """Refuse what the database would refuse later, with the field it is about."""
    errors = {}
    for name, value in (("event", message.event), ("title", message.title)):
        max_length = Notification._meta.get_field(name).max_length
        if len(value) > max_length:
            errors[name] = f"{name} has {len(value)} characters; at most {max_length} are stored."
    stored_text = json.dumps([message.title, message.body, message.to_payload()])
    # PostgreSQL stores no U+0000 in text or JSON; checking the JSON finds it anywhere inside.
    if "\\u0000" in stored_text:
        errors["body"] = "the message contains a NUL character (U+0000), which cannot be stored."
    if errors:
        raise ValidationError(errors)


def _channels_by_recipient(recipients, channels):
    if isinstance(recipients, dict):
        recipients = {key: list(dict.fromkeys(wanted)) for key, wanted in recipients.items()}
        if channels is not None:
            raise TypeError(
                "notify() takes channels either in the recipients mapping or in channels=, not both."
            )
        return recipients.items()
    if channels is None:
        raise TypeError("notify() needs channels=[...] when recipients is not a mapping.")
    if isinstance(recipients, models.QuerySet):
        recipients = recipients.iterator(chunk_size=2000)
    return ((recipient, channels) for recipient in recipients)


def _recipient(key):
    """``(user or None, Recipient)`` of one key of ``notify()``'s recipients."""
    if isinstance(key, str):
        return None, Recipient.for_address(key)
    return key, Recipient.for_user(key)


def _write_sent(planned, now):
    """Render the rows of channels that deliver by writing and mark them sent; returns them.

    Rendering is pure, so this adds no query: the rows go in with the same INSERT.
    """
    groups = defaultdict(list)
    for backend, notification, recipient, message in planned:
        if not backend.transmits:
            groups[backend, message.language].append((notification, recipient, message))
    written = []
    for (backend, language), rows in groups.items():
        with translation.override(language):
            renderings = backend.render_many(rows[0][2], [recipient for _, recipient, _ in rows])
        for (notification, _, _), rendered in zip(rows, renderings, strict=True):
            notification.body, notification.url = rendered.body, rendered.url
            notification.status, notification.sent_at, notification.attempts = NotificationStatus.SENT, now, 1
            written.append(notification)
    return written


def _signal_sent(notifications):
    from spire_notify.automations import send_signals

    send_signals(notifications)


def _target_key(target):
    if target is None:
        return None, ""
    return ContentType.objects.get_for_model(target), str(target.pk)


def _create_details(planned, using):
    details_by_model = defaultdict(list)
    for backend, notification, recipient, _ in planned:
        detail = backend.build_detail(notification, recipient)
        if detail is not None:
            details_by_model[type(detail)].append(detail)
    for model, details in details_by_model.items():
        insert_rows(model, details, using)


def enqueue_delivery(run_after=None):
    """Ask the task backend to run delivery, at ``run_after`` where the backend can defer."""
    from spire_notify.tasks import deliver_notifications

    task = deliver_notifications.using(backend=conf.get("NOTIFY_TASK_BACKEND"))
    if run_after is not None and run_after > clock.now() and task.get_backend().supports_defer:
        task = task.using(run_after=run_after)
    try:
        return task.enqueue()
    except ImproperlyConfigured:
        raise
    except Exception:
        # The rows are safely pending: any worker run (loop, cron, a later task) delivers them.
        logger.exception("Could not enqueue notification delivery; rows stay pending.")
        return None
