"""The soak's writer: ``python -m bench.soak_writer <rate> <seed>``, in a process of its own.

It calls ``notify()`` at a steady ``rate`` of recipients a second (each gets app + email), each
call in its own transaction, as a site's requests do, until its stdin closes; then it prints one
line of JSON: the calls made, the email rows written, and the email rows written per minute.
The calls take turns between the two shapes ``notify()`` accepts: a mapping of a few users to
their channels (single notifications) and a ``QuerySet`` audience.
"""

import json
import os
import random
import sys
import threading
import time

TICK = 0.5
CHANNELS = ["app", "email"]


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

    from spire_notify import Message, notify

    User = get_user_model()
    stopped = stop_when_stdin_closes()
    rng = random.Random(seed)
    users = list(User.objects.filter(username__startswith="soak").order_by("pk"))
    started = time.monotonic()
    calls, written, per_minute = 0, 0, {}
    owed = 0.0
    while not stopped.wait(max(0.0, started + (calls + 1) * TICK - time.monotonic())):
        # Whole recipients per call; the fractions carry over, so the rate holds on average.
        owed += rate * TICK
        count, owed = int(owed), owed - int(owed)
        if not count:
            calls += 1
            continue
        chosen = rng.sample(users, min(count, len(users)))
        message = Message(
            event="bench.soak", title=f"Soak #{calls}", body="A soak notification", path=f"/soak/{calls}/"
        )
        with transaction.atomic():
            if calls % 2:
                notify(message, User.objects.filter(pk__in=[user.pk for user in chosen]), channels=CHANNELS)
            else:
                notify(message, {user: CHANNELS for user in chosen})
        calls += 1
        written += len(chosen)
        minute = int((time.monotonic() - started) // 60)
        per_minute[minute] = per_minute.get(minute, 0) + len(chosen)
    print(json.dumps({"calls": calls, "emails": written, "per_minute": per_minute}), flush=True)


if __name__ == "__main__":
    main()
