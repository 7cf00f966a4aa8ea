"""P3: email delivery by one worker into the SMTP sink, against raw smtplib and post-office."""

import email.policy
import logging
import smtplib

from django.conf import settings
from django.db import transaction

from spire_notify import notify
from spire_notify.handler import notify_backends
from spire_notify.message import Recipient
from spire_notify.pinned import django_smtp
from spire_notify.worker.process import process_notifications

from . import population
from .measure import Row, Stopwatch, TimeAccumulator, median


def _ours(message, users, batch_size=None):
    """Write the rows, then one worker delivers them (``batch_size`` rows a claim, by default
    ``NOTIFY_BATCH_SIZE``): ``(writing, worker, rendering, flattening)`` seconds, flattening
    being the MIME of each message made bytes."""
    backend = notify_backends["email"]
    backend.render_many = TimeAccumulator(backend.render_many)
    flatten = django_smtp.flatten_without_recipient
    django_smtp.flatten_without_recipient = TimeAccumulator(flatten)
    try:
        with Stopwatch() as writing:
            with transaction.atomic():
                notify(message, {user: ["email"] for user in users})
        with Stopwatch() as worker:
            counts = process_notifications(batch_size=batch_size)
    finally:
        rendering = backend.render_many.seconds
        flattening = django_smtp.flatten_without_recipient.seconds
        del backend.render_many
        django_smtp.flatten_without_recipient = flatten
    assert counts["sent"] == len(users), f"P3 delivered {counts}, not {len(users)} emails"
    # Truncated, not deleted: the next round's claims would walk this one's dead rows (no autovacuum here).
    population.wipe_notifications()
    return writing.seconds, worker.seconds, rendering, flattening


def _flattened_emails(message, users):
    """Exactly what our backend would send, flattened to bytes before the clock starts."""
    backend = notify_backends["email"]
    renderings = backend.render_many(message, [Recipient(user_id=u.pk, email=u.email) for u in users])
    email_policy = email.policy.SMTP
    flattened = []
    for user, rendered in zip(users, renderings, strict=True):
        outgoing = rendered.content
        outgoing.extra_headers["Message-ID"] = f"<raw.{user.pk}@example.com>"
        # The policy Django's SMTP backend flattens with: CRLF, long lines encoded.
        flattened.append((outgoing.from_email, outgoing.to, outgoing.message(policy=email_policy).as_bytes()))
    return flattened


def _raw(flattened, port=None):
    """The limit: pre-rendered messages over one smtplib connection (to the sink by default)."""
    with Stopwatch() as watch:
        with smtplib.SMTP("127.0.0.1", port or settings.SMTP_PORT) as smtp:
            for sender, recipients, data in flattened:
                smtp.sendmail(sender, recipients, data)
    return watch.seconds


def queue_post_office(message, users):
    """post-office's queue of the same emails: the template rendered once, then ``send_many``."""
    from post_office import mail

    backend = notify_backends["email"]
    content = backend.render_content(message, backend.absolute_url(message.path))
    mail.send_many(
        [
            {
                "sender": settings.DEFAULT_FROM_EMAIL,
                "recipients": [user.email],
                "subject": content.subject,
                "message": content.text,
                "html_message": content.html,
            }
            for user in users
        ]
    )


def _post_office(message, users):
    """post-office end to end: the same template rendered once, send_many, send_queued."""
    from post_office import mail
    from post_office.models import STATUS, Email

    # Its console handler reports every batch of 100; the bench prints its own summary.
    logging.getLogger("post_office").setLevel(logging.WARNING)

    with Stopwatch() as watch:
        queue_post_office(message, users)
        while any(mail.send_queued()):
            pass
    sent = Email.objects.filter(status=STATUS.sent).count()
    assert sent == len(users), f"post-office sent {sent} of {len(users)} emails"
    Email.objects.all().delete()
    return watch.seconds


# A claim's own costs (the claim, the access check, recording the outcomes, the MIME of the
# message) are per batch: the reference row shows what they weigh at the default size.
LARGE_BATCH = 500


def p3_delivery(count, runs):
    """One worker delivering ``count`` emails, against the raw limit and post-office."""
    users = population.make_users("p3-", count, handle_tickets=True)
    message = population.new_ticket_message(population.quiet_ticket())
    flattened = _flattened_emails(message, users)
    keys = ("ours", "ours_sending", "ours_unflattened", "ours_large_batches", "raw", "post_office")
    times = {key: [] for key in keys}
    # The sizes are large enough that the first round needs no separate warm-up.
    for _ in range(runs):
        writing, worker, rendering, flattening = _ours(message, users)
        times["ours"].append(writing + worker)
        times["ours_sending"].append(worker - rendering - flattening)
        times["ours_unflattened"].append(worker - rendering)
        _, worker, rendering, flattening = _ours(message, users, batch_size=LARGE_BATCH)
        times["ours_large_batches"].append(worker - rendering - flattening)
        times["raw"].append(_raw(flattened))
        times["post_office"].append(_post_office(message, users))
    medians = {key: median(values) for key, values in times.items()}
    raw, post_office = medians["raw"], medians["post_office"]
    sending, total = medians["ours_sending"], medians["ours"]
    unflattened, large_batches = medians["ours_unflattened"], medians["ours_large_batches"]
    rows = [
        Row(
            id="P3",
            what=f"{count:,} emails delivered by one worker, rendering + flattening excluded, vs raw smtplib",
            ours=f"{count / sending:,.0f} msg/s",
            baseline=f"{count / raw:,.0f} msg/s",
            ratio=f"{raw / sending:.0%} of raw",
            target="≥ 80% of raw",
            met=raw / sending >= 0.8,
            values={"ours": sending, "baseline": raw},
        ),
        Row(
            id="P3",
            what=f"{count:,} emails by one worker, rendering excluded, flattening included, vs raw smtplib",
            ours=f"{count / unflattened:,.0f} msg/s",
            baseline=f"{count / raw:,.0f} msg/s",
            ratio=f"{raw / unflattened:.0%} of raw",
            target="(reference)",
            values={"ours": unflattened, "baseline": raw},
        ),
        Row(
            id="P3",
            what=f"{count:,} emails as above, one worker claiming {LARGE_BATCH} rows at a time (default 100)",
            ours=f"{count / large_batches:,.0f} msg/s",
            baseline=f"{count / raw:,.0f} msg/s",
            ratio=f"{raw / large_batches:.0%} of raw",
            target="(reference)",
            values={"ours": large_batches, "baseline": raw},
        ),
        Row(
            id="P3",
            what=f"{count:,} emails end to end (write + render + send) vs post-office",
            ours=f"{total:.2f} s ({count / total:,.0f}/s)",
            baseline=f"{post_office:.2f} s ({count / post_office:,.0f}/s)",
            ratio=f"{post_office / total:.2f}× faster",
            target="≥ 2× faster",
            met=post_office / total >= 2,
            values={"ours": total, "baseline": post_office},
        ),
    ]
    return rows
