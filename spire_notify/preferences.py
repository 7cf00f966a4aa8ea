"""What each recipient wants: a mode per notification type and channel.

A recipient is a user, or a guest's email address (a string). ``set_preference`` and
``get_preference`` are the API of one choice; ``modes_for``, ``wanted_modes``,
``without_opted_out`` and ``mode_expression`` answer for many recipients at once, in at most
one query, for the code that writes notifications. Those bulk answers are lenient: a message
whose event is not a registered type goes out as its sender decided.

``skip_switched_off`` applies preferences again when a row is delivered, for the worker: a row
written before its recipient switched its type off on its channel is skipped, not sent.
"""

from django.db import transaction
from django.db.models import CharField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from spire_notify import clock, conf
from spire_notify.backends.base import Outcome
from spire_notify.deferred import channel_of
from spire_notify.exceptions import ChannelNotOffered, MandatoryNotificationType, UnknownChannel
from spire_notify.handler import notify_backends
from spire_notify.notification_types import get_type, lookup
from spire_notify.store.held import release_held
from spire_notify.store.models import DeliveryMode, NotificationPreference

SWITCHED_OFF = "Skipped: the recipient switched this type of notification off on this channel."


def recipient_key(recipient):
    """``("user", pk)`` or ``("email", address)`` for a user, a ``Recipient`` or an address.

    Addresses compare lowercased: a guest who unsubscribes as ``Ann@Example.org`` is not
    mailed again as ``ann@example.org``.
    """
    if isinstance(recipient, str):
        return "email", recipient.strip().lower()
    if hasattr(recipient, "_meta"):
        return "user", recipient.pk
    if getattr(recipient, "user_id", None) is not None:
        return "user", recipient.user_id
    return "email", recipient.email.strip().lower()


def set_preference(user, type_key, channel, mode):
    """Set how ``user`` (or a guest's address) receives ``type_key`` on ``channel``."""
    notification_type = get_type(type_key)
    if channel not in conf.backend_settings():
        raise UnknownChannel(channel)
    if not notification_type.mandatory and channel not in notification_type.channels:
        raise ChannelNotOffered(type_key, channel, notification_type.channels, caller="set_preference()")
    if mode not in DeliveryMode.values:
        raise ValueError(f"Unknown mode {mode!r}; choose one of: {', '.join(DeliveryMode.values)}.")
    if notification_type.mandatory and mode == DeliveryMode.OFF:
        raise MandatoryNotificationType(type_key)
    if mode == DeliveryMode.DIGEST and not channel_gathers_digests(channel):
        raise ValueError(f"The channel {channel!r} sends no digests; choose 'immediate' or 'off'.")
    # Together, so that no worker finds what is released due while the mode is still the old one.
    owner = recipient_key(user)
    with transaction.atomic():
        if mode == DeliveryMode.IMMEDIATE and owner[0] == "user":
            # Back to "immediate", what is held goes out in one final digest; "off" releases
            # nothing, and the worker skips what is held when its window ends (SWITCHED_OFF).
            # A guest holds nothing.
            release_held(owner[1], type_key, channel)
        NotificationPreference.objects.update_or_create(
            **_owner_fields(owner),
            type_key=type_key,
            channel=channel,
            defaults={"mode": mode, "updated_at": clock.now()},
        )


def get_preference(user, type_key, channel):
    """The mode of ``type_key`` on ``channel`` for ``user`` (or a guest's address): their
    choice, else the type's default. A mandatory type is always ``"immediate"``."""
    notification_type = get_type(type_key)
    if notification_type.mandatory:
        return DeliveryMode.IMMEDIATE
    chosen = (
        NotificationPreference.objects.filter(
            **_owner_fields(recipient_key(user)), type_key=type_key, channel=channel
        )
        .values_list("mode", flat=True)
        .first()
    )
    return DeliveryMode(chosen) if chosen else notification_type.default_mode(channel)


def modes_for(type_key, recipients, channels):
    """``{(recipient, channel): mode}`` for every recipient and channel, in one query.

    ``recipients`` are users, ``Recipient`` objects or addresses; the keys are the very
    objects passed in. No query at all when there is nothing to look up: no recipients, an
    unregistered type (every mode ``"immediate"``) or a mandatory one.
    """
    recipients, channels = list(recipients), list(dict.fromkeys(channels))
    notification_type = lookup(type_key)
    if notification_type is None or notification_type.mandatory:
        return {
            (recipient, channel): DeliveryMode.IMMEDIATE for recipient in recipients for channel in channels
        }
    keys = {recipient: recipient_key(recipient) for recipient in recipients}
    chosen = _chosen_modes(type_key, set(keys.values()), channels) if keys and channels else {}
    return {
        (recipient, channel): chosen.get((key, channel), notification_type.default_mode(channel))
        for recipient, key in keys.items()
        for channel in channels
    }


def channel_gathers_digests(channel):
    """Whether the backend of ``channel`` can send a digest (its ``supports_digest``)."""
    return channel in conf.backend_settings() and notify_backends[channel].supports_digest


def wanted_modes(type_key, recipients):
    """``{recipient: [(entry, mode), ...]}`` for ``{recipient: [entry, ...]}``, without the
    entries whose channel the recipient switched off; recipients left with none are dropped.

    An entry is an alias or a ``spire_notify.Deferred``; its mode is its channel's, and a
    channel named twice (``"email"`` and ``Deferred("email", …)``) counts once, as first
    named. At most one query.
    """
    recipients = {recipient: _first_per_channel(entries) for recipient, entries in recipients.items()}
    every_channel = {channel_of(entry) for entries in recipients.values() for entry in entries}
    modes = modes_for(type_key, recipients, every_channel)
    kept = {
        recipient: [
            (entry, mode)
            for entry in entries
            if (mode := modes[recipient, channel_of(entry)]) != DeliveryMode.OFF
        ]
        for recipient, entries in recipients.items()
    }
    return {recipient: entries for recipient, entries in kept.items() if entries}


def _first_per_channel(entries):
    first = {}
    for entry in entries:
        first.setdefault(channel_of(entry), entry)
    return list(first.values())


def without_opted_out(type_key, recipients):
    """``recipients`` (``{recipient: [channel, ...]}``) without the channels each recipient
    switched off; recipients left with none are dropped. At most one query."""
    return {
        recipient: [entry for entry, _ in entries]
        for recipient, entries in wanted_modes(type_key, recipients).items()
    }


def mode_expression(type_key, channel, *, user_ref="pk"):
    """The mode of each user of a queryset, as an SQL expression, for set-based writes::

        User.objects.alias(mode=mode_expression("helpdesk.ticket.new", "email")).exclude(mode="off")

    ``user_ref`` names the user's primary key in the outer query (``"pk"`` on users,
    ``"user_id"`` on a table that refers to them). It adds a correlated subquery, not a query.
    """
    notification_type = lookup(type_key)
    if notification_type is None or notification_type.mandatory:
        return Value(DeliveryMode.IMMEDIATE.value, output_field=CharField())
    chosen = NotificationPreference.objects.filter(
        user=OuterRef(user_ref), type_key=type_key, channel=channel
    ).values("mode")[:1]
    return Coalesce(
        Subquery(chosen),
        Value(notification_type.default_mode(channel).value),
        output_field=CharField(),
    )


def skip_switched_off(rows, *, kept_address, using="default"):
    """``{pk: Outcome}`` skipping the rows whose recipient switched their type off on their
    channel after they were written; one query for any number of rows, none when no row can be.

    ``rows`` are notifications about to be delivered (claimed rows, a digest's items); a guest's
    row is matched by the address its channel kept, ``kept_address(row)`` (``""`` for none).
    What counts is a choice the recipient stored: the type's defaults were applied when the row
    was written. A mandatory type, or an event no type registers, is never skipped.
    """
    keys = {row.pk: _delivery_key(row, kept_address) for row in rows}
    keys = {pk: key for pk, key in keys.items() if key is not None}
    if not keys:
        return {}
    switched_off = _switched_off(set(keys.values()), using=using)
    return {pk: Outcome.skipped(SWITCHED_OFF) for pk, key in keys.items() if key in switched_off}


def _delivery_key(row, kept_address):
    """``(recipient key, type key, channel)`` of a row a preference may switch off, or ``None``."""
    notification_type = lookup(row.event)
    if notification_type is None or notification_type.mandatory:
        return None
    if row.user_id is not None:
        return ("user", row.user_id), row.event, row.channel
    address = kept_address(row)
    return (recipient_key(address), row.event, row.channel) if address else None


def _switched_off(keys, *, using):
    """Those of ``keys`` (``(recipient key, type key, channel)``) stored ``"off"``; one query."""
    stored_off = NotificationPreference.objects.using(using).filter(
        _owners_q({recipient for recipient, _, _ in keys}),
        type_key__in={type_key for _, type_key, _ in keys},
        channel__in={channel for _, _, channel in keys},
        mode=DeliveryMode.OFF,
    )
    found = {
        (_stored_key(user_id, email), type_key, channel)
        for user_id, email, type_key, channel in stored_off.values_list(
            "user_id", "email", "type_key", "channel"
        )
    }
    return found & keys


def _chosen_modes(type_key, keys, channels):
    rows = NotificationPreference.objects.filter(_owners_q(keys), type_key=type_key, channel__in=channels)
    return {
        (_stored_key(user_id, email), channel): DeliveryMode(mode)
        for user_id, email, channel, mode in rows.values_list("user_id", "email", "channel", "mode")
    }


def _owners_q(keys):
    """The preferences of the recipients ``keys`` (``recipient_key()`` answers) name."""
    user_ids = [value for kind, value in keys if kind == "user"]
    addresses = [value for kind, value in keys if kind == "email"]
    owners = Q(user_id__in=user_ids) if user_ids else Q()
    if addresses:
        guests = Q(user__isnull=True, email__in=addresses)
        owners = owners | guests if user_ids else guests
    return owners


def _stored_key(user_id, email):
    return ("user", user_id) if user_id is not None else ("email", email)


def _owner_fields(key):
    kind, value = key
    return {"user_id": value, "email": ""} if kind == "user" else {"user": None, "email": value}
