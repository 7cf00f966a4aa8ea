"""Rows held for a digest: the digest windows, the fields of a held row, and what switching back
to "immediate" releases. The write side holds rows, the worker sends them in digests, the
preferences release them: all three read this.

Windows are ``NOTIFY_DIGEST_INTERVAL`` seconds long, counted from the Unix epoch: with the
default, a day that ends at midnight UTC.
"""

import math
from datetime import UTC, datetime

from spire_notify import clock, conf
from spire_notify.store.enqueue import request_delivery_on_commit
from spire_notify.store.models import Notification, NotificationStatus


def window_end(moment):
    """The end of the digest window ``moment`` falls in (a window ends where the next begins)."""
    interval = conf.get("NOTIFY_DIGEST_INTERVAL")
    end = (math.floor(moment.timestamp() / interval) + 1) * interval
    return datetime.fromtimestamp(end, tz=UTC)


def held_fields(due):
    """The fields of a row held for the digest of the window ``due`` falls in."""
    end = window_end(due)
    return {"status": NotificationStatus.HELD, "send_after": end, "next_attempt_at": end}


def release_held(user_id, type_key, channel):
    """Make what the user holds of ``type_key`` on ``channel`` due now, for one final digest at
    the next run; returns how many rows."""
    now = clock.now()
    released = Notification.objects.filter(
        user_id=user_id,
        event=type_key,
        channel=channel,
        status=NotificationStatus.HELD,
        digest__isnull=True,
        send_after__gt=now,
    ).update(send_after=now, next_attempt_at=now)
    if released:
        request_delivery_on_commit()
    return released
