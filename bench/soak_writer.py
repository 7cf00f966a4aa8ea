"""The soak's writer: ``python -m bench.soak_writer <rate> <seed>``, in a process of its own.

It calls ``notify()`` at a steady ``rate`` of recipients a second (each gets app + email), each
call in its own transaction, as a site's requests do, until its stdin closes; then it prints one
line of JSON: the calls made, the email rows written, and the email rows written per minute.
The calls take turns between three shapes: a mapping of a few users to their channels (single
notifications), a ``QuerySet`` audience, and escalations — app now, and email ``ESCALATE_AFTER``
later unless the app notification was read by then (``Deferred``); the writer reads half of
those calls' app notifications a second after writing them, so that some escalations are
skipped, with their reason, and the rest delivered after their delay. Every fifth soak user
chose a digest for the soak's event type on email (``bench.soak``'s setup): their email rows are
held and go out in a digest when their window ends (``NOTIFY_DIGEST_INTERVAL``).
"""

import json
import os
import random
import sys
import threading
import time
from datetime import timedelta

TICK = 0.5
CHANNELS = ["app", "email"]
EVENT = "bench.soak"
ESCALATE_AFTER = timedelta(seconds=3)
# Ticks between an escalation's write and the reading of its app notification (one second):
# the worker has delivered the app row by then, and the escalation is not yet due.
READ_AFTER_TICKS = 2


def register_event_type():
    """The soak's type, so that a recipient's digest preference applies to it."""
    from spire_notify import notification_types

    notification_types.register(EVENT, name="Soak", default_channels=CHANNELS)


def read_in_app(title):
    """Read the app notifications written by the call titled ``title``, as a user would."""
    from spire_notify.channels.app.models import AppNotification
    from spire_notify.models import Notification

    written = Notification.objects.filter(event=EVENT, title=title, channel="app")
    return AppNotification.objects.of(written).mark_read()


def stop_when_stdin_closes():
    stopped = threading.Event()

    def watch():
        sys.stdin.read()
        stopped.set()

    threading.Thread(target=watch, daemon=True).start()
    return stopped


def main():
    rate, seed = float(sys.argv[1]), int(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.soak_settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from spire_notify import Deferred, Message, notify

    register_event_type()
    User = get_user_model()
    stopped = stop_when_stdin_closes()
    rng = random.Random(seed)
    users = list(User.objects.filter(username__startswith="soak").order_by("pk"))
    started = time.monotonic()
    calls, written, per_minute = 0, 0, {}
    to_read = {}  # call number at which to read → title of an escalation call
    owed = 0.0
    while not stopped.wait(max(0.0, started + (calls + 1) * TICK - time.monotonic())):
        # Whole recipients per call; the fractions carry over, so the rate holds on average.
        owed += rate * TICK
        count, owed = int(owed), owed - int(owed)
        if (title := to_read.pop(calls, None)) is not None:
            read_in_app(title)
        if not count:
            calls += 1
            continue
        chosen = rng.sample(users, min(count, len(users)))
        message = Message(
            event=EVENT, title=f"Soak #{calls}", body="A soak notification", path=f"/soak/{calls}/"
        )
        with transaction.atomic():
            if calls % 3 == 1:
                notify(message, User.objects.filter(pk__in=[user.pk for user in chosen]), channels=CHANNELS)
            elif calls % 3 == 2:
                notify(message, {user: ["app", Deferred("email", ESCALATE_AFTER)] for user in chosen})
                if calls % 2:
                    to_read[calls + READ_AFTER_TICKS] = message.title
            else:
                notify(message, {user: CHANNELS for user in chosen})
        calls += 1
        written += len(chosen)
        minute = int((time.monotonic() - started) // 60)
        per_minute[minute] = per_minute.get(minute, 0) + len(chosen)
    print(json.dumps({"calls": calls, "emails": written, "per_minute": per_minute}), flush=True)


if __name__ == "__main__":
    main()
