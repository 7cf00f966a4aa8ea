"""The mapping path of ``notify()``: one row per (recipient, channel), built in Python and
bulk-inserted in the caller's transaction, with a number of queries that does not grow with the
recipients."""

import logging
from collections import defaultdict
from functools import partial

from django.db import models, transaction
from django.utils import translation

from spire_notify import clock
from spire_notify.deferred import channel_of
from spire_notify.handler import notify_backends
from spire_notify.i18n import group_by_language, language_chooser, language_for
from spire_notify.message import Recipient
from spire_notify.pinned.django_bulk_insert import copy_of, insert_rows
from spire_notify.preferences import wanted_modes
from spire_notify.store.enqueue import request_delivery_on_commit
from spire_notify.store.inserts import Planned, insert_notifications
from spire_notify.store.models import Notification, NotificationStatus
from spire_notify.store.signals import send_signals
from spire_notify.write.messages import message_in, target_key
from spire_notify.write.timing import cancelled_by_reading, delivery_times, row_timing
from spire_notify.write.typos import check_aliases, check_message

logger = logging.getLogger("spire_notify")


def write_rows(message, recipients, *, channels=None, send_after=None, using=None, checked=False):
    """``notify()`` for a mapping of recipients to channels, or any iterable of recipients that
    all get ``channels``: see ``spire_notify.notify``. Returns the saved notifications.

    ``checked``: the caller (the audience path, which comes here chunk by chunk) has checked the
    names of the call once already (``spire_notify.write.typos``)."""
    named = list(_channels_by_recipient(recipients, channels))
    every_entry = channels if channels is not None else (entry for _, entries in named for entry in entries)
    aliases = list(dict.fromkeys(map(channel_of, every_entry)))
    if not checked:
        check_aliases(aliases)
    wanted = {
        key: entries for key, entries in named if isinstance(key, str) or getattr(key, "is_active", True)
    }
    groups = language_groups(wanted)
    messages = {language: message_in(message, language) for language in groups}
    if not messages:
        return []
    if not checked:
        check_message(list(messages.values()), aliases)
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
                    planned.append(
                        Planned(
                            backend,
                            notification,
                            recipient,
                            messages[language],
                            unless_read=cancelled_by_reading(entry),
                        )
                    )
    if not planned:
        return []
    delivered_by_writing = _write_sent(planned, now) if send_after is None else []
    notifications = [row.notification for row in planned]
    with transaction.atomic(using=using):
        insert_notifications(planned, using)
        _create_details(planned, using)
        if delivered_by_writing:
            transaction.on_commit(partial(send_signals, delivered_by_writing), using=using)
        for run_after in delivery_times(notifications):
            request_delivery_on_commit(run_after, using=using)
    return notifications


def language_groups(wanted):
    """``{language: [recipient key, ...]}``; one group, with no per-recipient call, when no
    ``NOTIFY_RECIPIENT_LANGUAGE`` is set."""
    if not wanted:
        return {}
    if language_chooser() is None:
        return {language_for(None): list(wanted)}
    return group_by_language(wanted)


def _prototype(message, now, due):
    target_type, target_id = target_key(message.target)
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
    for row in planned:
        if not row.backend.transmits:
            groups[row.backend, row.message.language].append(row)
    written = []
    for (backend, language), rows in groups.items():
        with translation.override(language):
            renderings = backend.render_many(rows[0].message, [row.recipient for row in rows])
        for row, rendered in zip(rows, renderings, strict=True):
            notification = row.notification
            notification.body, notification.url = rendered.body, rendered.url
            notification.status, notification.sent_at, notification.attempts = NotificationStatus.SENT, now, 1
            written.append(notification)
    return written


def _create_details(planned, using):
    details_by_model = defaultdict(list)
    for row in planned:
        detail = row.backend.build_detail(row.notification, row.recipient)
        if detail is not None:
            details_by_model[type(detail)].append(detail)
    for model, details in details_by_model.items():
        insert_rows(model, details, using)
