"""The live inbox: the badge and the inbox list change the moment a notification is written or
read, over server-sent events (django-eventstream, the ``live`` extra).

With ``NOTIFY_LIVE_UPDATES = True`` each signed-in page opens one event stream,
``notifications/live/``, on the user's own channel. Two events are published on it, at the
commit that caused them:

- ``notifications``: in-app notifications were written for the user (``notifications_sent``);
  carries the new unread count and the new items.
- ``read``: the user's notifications were marked read (``notifications_read``); carries the
  unread count and the pks read (``null`` for all).

Publishing reaches the streams held by the same process; a project that writes from several
processes (several web workers, a worker delivering deferred in-app rows) sets
django-eventstream's ``EVENTSTREAM_REDIS`` so that every process hears every event. With
``NOTIFY_LIVE_UPDATES`` off (the default) the badge polls, as before.

A stream holds no database connection, is one of at most NOTIFY_LIVE_MAX_STREAMS_PER_USER of
its user, and ends when its session does (``live_streams``).
"""

import logging
from collections import defaultdict

from django.contrib.auth.decorators import login_required
from django.core.signals import setting_changed
from django.db.models import Count
from django.dispatch import receiver
from django.http import HttpResponse
from django.views.decorators.cache import never_cache

from spire_notify import conf
from spire_notify.channels.app.models import unread_among
from spire_notify.channels.live.publishing import send_events
from spire_notify.channels.live.streams import SessionBoundStream, open_streams
from spire_notify.handler import notify_backends
from spire_notify.store.models import Notification, NotificationStatus
from spire_notify.store.signals import notifications_read, notifications_sent
from spire_notify.views import deny_framing

logger = logging.getLogger("spire_notify")


def enabled():
    return bool(conf.get("NOTIFY_LIVE_UPDATES"))


def channel_for(user_id):
    return f"spire-notify-user-{user_id}"


# What a page that still asks for its stream hears once live updates are turned off: the
# stream-error event of django-eventstream's protocol, after which live.js polls instead.
LIVE_UPDATES_OFF = 'event: stream-error\ndata: {"condition": "disabled", "text": "live updates are off"}\n\n'


TOO_MANY_STREAMS = (
    "This user has {limit} live streams open, the most NOTIFY_LIVE_MAX_STREAMS_PER_USER allows: "
    "this page polls instead."
)
SESSION_ENDED = "The session of this stream has ended: sign in again."


@deny_framing
@never_cache
@login_required
def events(request):
    """The signed-in user's event stream; the channel comes from the session, never the request."""
    if not enabled():
        return HttpResponse(LIVE_UPDATES_OFF, content_type="text/event-stream")
    from django_eventstream.utils import sse_encode_error
    from django_eventstream.views import events as event_stream

    response = event_stream(request, channels=[channel_for(request.user.pk)])
    if not response.streaming:  # django-eventstream refused the request itself
        return response
    place = open_streams.take(request.user.pk)
    if place is None:
        # EventSource gives up on a status other than 200 (live.js then polls); the event
        # says why to anyone reading the body.
        limit = conf.get("NOTIFY_LIVE_MAX_STREAMS_PER_USER")
        refusal = sse_encode_error("too-many-streams", TOO_MANY_STREAMS.format(limit=limit))
        return HttpResponse(refusal, status=429, content_type="text/event-stream")
    response.streaming_content = SessionBoundStream(
        response.streaming_content,
        session_key=request.session.session_key,
        user=request.user,
        place=place,
        session_ended=sse_encode_error("forbidden", SESSION_ENDED),
    )
    return response


def unread_counts(user_ids):
    """``{user_id: unread in-app notifications}``, in one query whatever the number of users."""
    rows = (
        unread_among(
            Notification.objects.filter(
                user_id__in=user_ids, app__isnull=False, status=NotificationStatus.SENT
            )
        )
        .values("user_id")
        .annotate(unread=Count("pk"))
    )
    return {row["user_id"]: row["unread"] for row in rows}


def inbox_item(notification):
    """What the inbox page shows of a new notification (its template is live_inbox_item.html)."""
    return {
        "id": notification.pk,
        "title": notification.title,
        "body": notification.body,
        "priority": notification.payload.get("priority", ""),
        "created_at": notification.created_at.isoformat(),
    }


def publish(user_id, event_type, data):
    publish_to_users(event_type, {user_id: data})


def publish_to_users(event_type, data_by_user):
    """Publish one ``event_type`` event to each user's channel, all in one round trip to Redis."""
    try:
        send_events((channel_for(user_id), event_type, data) for user_id, data in data_by_user.items())
    except Exception:
        # A live update is a courtesy: the page still shows the truth when it is reloaded.
        logger.exception("Could not publish the live %s events of %s user(s)", event_type, len(data_by_user))


def writes_inbox(alias):
    return alias in notify_backends and notify_backends[alias].tracks_reading


def publish_new(sender, notifications, **kwargs):
    by_user = defaultdict(list)
    for notification in notifications:
        if notification.user_id is not None and writes_inbox(notification.channel):
            by_user[notification.user_id].append(notification)
    if not by_user:
        return
    counts = unread_counts(by_user)
    publish_to_users(
        "notifications",
        {
            user_id: {
                "unread": counts.get(user_id, 0),
                "notifications": [inbox_item(row) for row in sorted(rows, key=lambda row: row.pk)],
            }
            for user_id, rows in by_user.items()
        },
    )


def publish_read(sender, user_id, notifications=None, **kwargs):
    publish(user_id, "read", {"unread": unread_counts([user_id]).get(user_id, 0), "read": notifications})


RECEIVERS = (
    (notifications_sent, publish_new, "spire_notify.channels.live.events.publish_new"),
    (notifications_read, publish_read, "spire_notify.channels.live.events.publish_read"),
)


def connect_receivers():
    """Listen for written and read notifications while live updates are on, and only then:
    with nobody listening, the rows an audience was sent are never read back (100,000 rows
    loaded at the commit of an outage notice, for receivers that would publish nothing)."""
    for signal, receiver_function, uid in RECEIVERS:
        if enabled():
            signal.connect(receiver_function, dispatch_uid=uid)
        else:
            signal.disconnect(dispatch_uid=uid)


@receiver(setting_changed, dispatch_uid="spire_notify.channels.live.events.follow_setting")
def follow_setting(setting, **kwargs):
    # Settings change at run time only in tests (override_settings), which this follows.
    if setting == "NOTIFY_LIVE_UPDATES":
        connect_receivers()
