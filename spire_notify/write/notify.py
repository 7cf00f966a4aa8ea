"""``notify()``: write the notifications of one message, and deliver them after commit.

It is the one entry of the write side. A ``QuerySet`` of users with plain channel aliases is
written by the database (``spire_notify.write.audience``); anything else goes the mapping path
(``spire_notify.write.rows``).
"""

from django.db import models

from spire_notify.write.audience import notify_audience
from spire_notify.write.rows import write_rows


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

    The names a caller writes are checked once per call, and a typo raises with nothing
    written (``spire_notify.write.typos``):

    - ``UnknownChannel``: a channel that is not an alias of ``NOTIFY_BACKENDS``;
    - ``ChannelNotOffered``: a channel the message's type is not sent on (neither a default nor
      an optional channel of a registered type that is not mandatory);
    - ``UnknownNotificationType``: an ``event`` that is not a registered type, when
      ``NOTIFY_UNKNOWN_EVENTS`` is ``"error"`` (by default, ``"warn"``, a warning is logged);
    - ``ValidationError({"template": ...})``: a ``template`` a channel's backend cannot render.

    Raises ``ValidationError``, with nothing written, for a message the database cannot store.
    Returns the saved notifications. A ``QuerySet`` of users is written by the database
    (``spire_notify.write.audience``), and what it returns is a lazy ``QuerySet`` of them.
    """
    if isinstance(recipients, models.QuerySet) and channels and all(isinstance(c, str) for c in channels):
        return notify_audience(message, recipients, channels, send_after=send_after, using=using)
    return write_rows(message, recipients, channels=channels, send_after=send_after, using=using)
