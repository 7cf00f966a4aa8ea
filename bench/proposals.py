"""Changes proposed to files this bench does not own, measured beside the current code.

``python -m bench.proposals [emails]`` delivers the same emails with one worker three ways,
on SQLite into the SMTP sink, and compares each with the raw smtplib limit of the same run:

1. the current code;
2. ``spire_notify.automations._record`` writing outcomes with one UPDATE per distinct
   outcome instead of ``bulk_update`` (a CASE per field per row);
3. (2) plus an email backend that flattens each message's MIME once and adds only ``To`` and
   ``Message-ID`` per recipient, sending the bytes over the mailer's SMTP connection.

The classes below are the proposed code, written as subclasses and patches so that they can
be measured without editing their owners' files.
"""

import email.policy
import json
import os
import sys
import tempfile
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

from django.conf import settings

from backends.base import Outcome, Rendered, describe_error
from backends.email import CONNECTION_ERRORS, EmailBackend, _reconnect, classify_send_error

SMTP_POLICY = email.policy.SMTP


@dataclass(frozen=True)
class FlattenedEmail:
    """One message's MIME, flattened once, and the envelope of one recipient."""

    from_email: str
    to: str
    data: bytes  # every header and part but To and Message-ID


class PreflattenedEmailBackend(EmailBackend):
    def render_many(self, message, recipients):
        url = self.absolute_url(message.path)
        content = self.render_content(message, url)
        if not recipients:
            return []
        mime = self.build_email(content, recipients[0]).message(policy=SMTP_POLICY)
        del mime["To"]
        del mime["Message-ID"]
        data = mime.as_bytes()
        return [
            Rendered(body=content.html, url=url, content=FlattenedEmail(
                from_email=self.from_email or settings.DEFAULT_FROM_EMAIL, to=self.delivery_address(recipient), data=data,
            ))
            for recipient in recipients
        ]

    def send(self, deliveries):
        from django.core.mail import mailers

        connection = mailers[self.mailer]
        try:
            connection.open()
        except OSError as error:
            return [Outcome.temporary(describe_error(error))] * len(deliveries)
        try:
            return [self._send_flattened(connection, delivery) for delivery in deliveries]
        finally:
            connection.close()

    def _send_flattened(self, connection, delivery):
        flattened = delivery.rendered.content
        headers = (SMTP_POLICY.fold_binary("To", flattened.to)
                   + SMTP_POLICY.fold_binary("Message-ID", self.message_id(delivery.notification)))
        try:
            connection.connection.sendmail(flattened.from_email, [flattened.to], headers + flattened.data)
        except Exception as error:
            if isinstance(error, CONNECTION_ERRORS):
                _reconnect(connection)
            return classify_send_error(error)
        return Outcome.success()


def record_grouped(rows, outcomes, *, using):
    """``automations._record`` with one UPDATE per distinct outcome instead of bulk_update."""
    from django.utils import timezone

    from spire_notify import automations, conf
    from spire_notify.models import Notification, NotificationStatus
    from spire_notify.retry import retry_delay, status_after_failure

    if not rows:
        return Counter()
    now = timezone.now()
    max_attempts = conf.get("NOTIFY_MAX_ATTEMPTS")
    for row, outcome in zip(rows, outcomes, strict=True):
        row.lease_expires_at = None
        if outcome.sent:
            row.status, row.sent_at, row.last_error = NotificationStatus.SENT, now, ""
        else:
            row.last_error = outcome.error
            row.status = status_after_failure(attempts=row.attempts, max_attempts=max_attempts,
                                              permanent=outcome.permanent)
            row.next_attempt_at = now + retry_delay(row.attempts, base=conf.get("NOTIFY_RETRY_BASE_DELAY"),
                                                    cap=conf.get("NOTIFY_RETRY_MAX_DELAY"))
    token = rows[0].claimed_by
    # The rows of one message share their rendering and, mostly, their outcome: one UPDATE each.
    groups = defaultdict(list)
    for row in rows:
        groups[tuple(getattr(row, field) for field in automations.RECORDED_FIELDS)].append(row.pk)
    held = Notification.objects.using(using).filter(claimed_by=token, status=NotificationStatus.PROCESSING)
    recorded = set()
    for values, pks in groups.items():
        if held.filter(pk__in=pks).update(**dict(zip(automations.RECORDED_FIELDS, values))) == len(pks):
            recorded.update(pks)
        else:
            recorded.update(held.model.objects.using(using).filter(pk__in=pks, claimed_by=token)
                            .values_list("pk", flat=True))
    rows = [row for row in rows if row.pk in recorded]
    automations._send_signals(rows)
    return Counter(row.status for row in rows)


@contextmanager
def variant(name):
    from django.test.utils import override_settings

    from spire_notify import automations

    backend_path = "bench.proposals.PreflattenedEmailBackend" if name == PROPOSED else "backends.email.EmailBackend"
    with override_settings(NOTIFY_BACKENDS={"email": {"BACKEND": backend_path}}):
        if name == "current":
            yield
        else:
            with mock.patch.object(automations, "_record", record_grouped):
                yield


PROPOSED = "grouped record + flattened MIME"
VARIANTS = ("current", "grouped record", PROPOSED)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    from .__main__ import SmtpSink

    with tempfile.TemporaryDirectory() as workdir, SmtpSink() as sink:
        os.environ.update(BENCH_WORKDIR=workdir, BENCH_SMTP_PORT=str(sink.port),
                          DJANGO_SETTINGS_MODULE="bench.settings")
        import django

        django.setup()
        from django.db import connection

        from . import delivery, population
        from .measure import median

        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        users = population.make_users("proposal-", count)
        message = population.new_ticket_message(population.quiet_ticket())
        flattened = delivery._flattened_emails(message, users)
        times = {name: [] for name in (*VARIANTS, "raw")}
        for _ in range(runs):
            for name in VARIANTS:
                with variant(name):
                    _, worker, rendering = delivery._ours(message, users)
                times[name].append(worker - rendering)
            times["raw"].append(delivery._raw(flattened))
        raw = median(times["raw"])
        figures = {name: {"msg_per_s": count / median(values), "of_raw": raw / median(values)}
                   for name, values in times.items()}
        for name, figure in figures.items():
            print(f"  {name:<34} {figure['msg_per_s']:8,.0f} msg/s  {figure['of_raw']:5.0%} of raw")
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
