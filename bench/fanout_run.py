"""Notify one audience, then write the same rows bare, round after round; report JSON.

``python -m bench.fanout_run <username prefix> <rounds>``, run by P7 in a fresh process so that
its peak RSS (``VmHWM``) is the write's alone. The bare limit is the same rows and detail rows
written with plain ``INSERT … SELECT`` statements: no preferences, no batches, no checks.
"""

import json
import os
import statistics
import sys
import time


def bare_insert_select(prefix, message, connection):
    """The limit: per channel, the notifications and their detail rows, each one INSERT … SELECT."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    now = timezone.now()
    target = ContentType.objects.get_for_model(message.target).pk
    payload = json.dumps(message.to_payload())
    columns = (
        "user_id, channel, event, title, body, url, payload, content_type_id, object_id, status, "
        "attempts, send_after, next_attempt_at, claimed_by, last_error, sent_at, created_at"
    )
    channels = {
        "app": (
            message.summary,
            message.path,
            "sent",
            1,
            now,
            "spire_notify_app_appnotification",
            "read_at",
            "NULL",
        ),
        "email": (
            "",
            "",
            "pending",
            0,
            None,
            "spire_notify_email_emailnotification",
            "to_email_address",
            "u.email",
        ),
    }
    with connection.cursor() as cursor:
        for channel, (body, url, status, attempts, sent_at, detail, column, value) in channels.items():
            values = [
                channel,
                message.event,
                message.title,
                body,
                url,
                payload,
                target,
                str(message.target.pk),
            ]
            values += [status, attempts, now, now, "", "", sent_at, now]
            select = (
                f"SELECT u.id, {', '.join(['%s'] * len(values))} FROM auth_user u WHERE u.username LIKE %s"
            )
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"WITH w AS (INSERT INTO spire_notify_notification ({columns}) {select} "
                    "RETURNING id, user_id) "
                    f"INSERT INTO {detail} (notification_id, {column}) SELECT w.id, {value} FROM w"
                    + (" JOIN auth_user u ON u.id = w.user_id" if value != "NULL" else ""),
                    [*values, prefix + "%"],
                )
            else:
                cursor.execute(
                    f"INSERT INTO spire_notify_notification ({columns}) {select}", [*values, prefix + "%"]
                )
                last, count = cursor.lastrowid, cursor.rowcount
                cursor.execute(
                    f"INSERT INTO {detail} (notification_id, {column}) SELECT n.id, {value} "
                    "FROM spire_notify_notification n JOIN auth_user u ON u.id = n.user_id "
                    "WHERE n.id BETWEEN %s AND %s",
                    [last - count + 1, last],
                )


def main():
    prefix, rounds = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from spire_notify import notify

    from . import population
    from .drain import rss_mb

    message = population.new_ticket_message(population.quiet_ticket())
    audience = get_user_model().objects.filter(username__startswith=prefix)
    connection.ensure_connection()
    # Warm what a process caches once (ContentType, the backends) on an empty audience.
    notify(message, audience.none(), channels=["app", "email"])
    before = rss_mb("VmRSS")
    times = {"ours": [], "bare": []}
    # One untimed round first, as P2 does: the first statements of a size plan cold.
    for timed in (False, *[True] * rounds):
        for side in ("ours", "bare"):
            start = time.perf_counter()
            with transaction.atomic():
                if side == "ours":
                    notify(message, audience, channels=["app", "email"])
                else:
                    bare_insert_select(prefix, message, connection)
            if timed:
                times[side].append(time.perf_counter() - start)
            if side == "ours":
                peak = rss_mb()
            population.wipe_notifications()
    print(
        json.dumps(
            {
                "ours": statistics.median(times["ours"]),
                "bare": statistics.median(times["bare"]),
                "runs": times,
                "rss_before_mb": before,
                "peak_rss_mb": peak,
            }
        )
    )


if __name__ == "__main__":
    main()
