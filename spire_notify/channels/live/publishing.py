"""Publishing many live events at once: django-eventstream's ``send_event``, with the Redis
publishes of all of them sent in one pipeline.

``send_event`` publishes each event to Redis (``EVENTSTREAM_REDIS``) and waits for the reply
before the next: a notification written for 1,000 users was 1,000 round trips, 270 ms of the
writer's time before the last stream heard of it (P9 in docs/performance.md). The pipeline
sends the same messages, on the same Redis channel and in the same form, so the listening
processes (django-eventstream's own listener) read them as before, in one round trip.

Without Redis, events go to the listeners of this process, with no round trip to save: each
goes through ``send_event`` as it is. Storage (``EVENTSTREAM_STORAGE_CLASS``) and a GRIP proxy
are kept as ``send_event`` keeps them, per event; with no GRIP proxy configured, the GRIP
publish is not called at all (it encodes each event for no one: 20 ms of 1,000 events).
"""

import json

from django.core.serializers.json import DjangoJSONEncoder

# django-eventstream's one Redis channel, which its listener subscribes to (views.py).
REDIS_CHANNEL = "events_channel"


def send_events(events):
    """Send ``events``, an iterable of ``(channel, event type, data)``, as many ``send_event``
    calls would; with ``EVENTSTREAM_REDIS``, in one round trip to Redis."""
    from django_eventstream import eventstream, send_event
    from django_eventstream.utils import get_channelmanager, get_storage, publish_event
    from django_grip import get_pubcontrol

    redis_client = eventstream.redis_client
    if redis_client is None:
        for channel, event_type, data in events:
            send_event(channel, event_type, data)
        return
    storage, channels = get_storage(), get_channelmanager()
    with redis_client.pipeline(transaction=False) as pipeline:
        published = []
        for channel, event_type, data in events:
            encoded = json.dumps(data, cls=DjangoJSONEncoder)
            pub_id = pub_prev_id = None
            if storage and channels.is_channel_reliable(channel):
                stored = storage.append_event(channel, event_type, encoded)
                pub_id, pub_prev_id = str(stored.id), str(stored.id - 1)
            message = {"channel": channel, "event_type": event_type, "data": encoded, "pub_id": pub_id}
            pipeline.publish(REDIS_CHANNEL, json.dumps(message))
            published.append((channel, event_type, encoded, pub_id, pub_prev_id))
        pipeline.execute()
    if not get_pubcontrol().clients:
        return
    for channel, event_type, encoded, pub_id, pub_prev_id in published:
        publish_event(channel, event_type, encoded, pub_id, pub_prev_id, skip_user_ids=[], blocking=False)
