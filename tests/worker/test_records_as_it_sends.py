"""A worker records what it sent while the batch is still being sent, at least once a second
(``RECORD_EVERY_SECONDS``), not only at its end: a worker stopped mid-batch hands back only what
it had handed over in the last second, so a killed worker's batch is not all sent again.

Each test stops the worker as a second signal would (``WorkerStopped`` from ``should_stop``,
asked before each hand-off) once the SMTP server on 127.0.0.1 has accepted a given number of
messages, and reads what the database then says of each row.
"""

from collections import Counter

import pytest
from django.test import override_settings

from spire_notify.exceptions import WorkerStopped
from spire_notify.models import Notification
from spire_notify.worker import pipeline
from spire_notify.worker.process import process_notifications
from spire_notify.worker.rows import ROWS
from tests.mail_settings import email_connections, smtp_settings
from tests.support.delivery_harness import DUMMY_TASKS, SmtpSink, message_id, seed_email_notifications

pytestmark = pytest.mark.django_db(transaction=True)


def stop_once_accepted(sink, count):
    """A ``should_stop`` that stops the worker at once after ``count`` messages were accepted."""

    def should_stop():
        if len(sink.handler.message_ids()) >= count:
            raise WorkerStopped("stopped by the test")
        return False

    return should_stop


def send_until_stopped(sink, count, *, stop_after):
    """Write ``count`` email rows, and send them in one batch until the worker is stopped after
    ``stop_after`` of them; ``(rows, pks accepted, {pk: status})``."""
    with override_settings(TASKS=DUMMY_TASKS, **smtp_settings(sink.port), **email_connections(1)):
        rows = seed_email_notifications(count)
        with pytest.raises(WorkerStopped):
            process_notifications(batch_size=len(rows), should_stop=stop_once_accepted(sink, stop_after))
    accepted = {row.pk for row in rows if message_id(row) in sink.handler.message_ids()}
    statuses = dict(Notification.objects.filter(pk__in=[row.pk for row in rows]).values_list("pk", "status"))
    return rows, accepted, statuses


def test_a_worker_stopped_mid_batch_keeps_what_it_recorded_and_hands_back_only_the_rest(monkeypatch):
    # Every outcome written as it settles: the stop finds each accepted row recorded.
    monkeypatch.setattr(pipeline, "RECORD_EVERY_SECONDS", 0)
    with SmtpSink() as sink:
        _, accepted, statuses = send_until_stopped(sink, 6, stop_after=3)
    assert len(accepted) == 3
    assert {pk for pk, status in statuses.items() if status == "sent"} == accepted
    # The rest were never handed over: back in the queue, their attempt not spent.
    rest = Notification.objects.exclude(pk__in=accepted)
    assert Counter(rest.values_list("status", "attempts")) == {("pending", 0): 3}


def test_by_default_what_is_left_to_send_again_is_at_most_the_last_second_of_sending():
    """A server that takes 0.4 s an email: the third settles at least 1.2 s in, past the first
    second, so it and the two before it are written then; a stop after the fourth hands back
    at most that one, not the batch."""
    with SmtpSink(delay=0.4) as sink:
        _, accepted, statuses = send_until_stopped(sink, 6, stop_after=4)
    sent = {pk for pk, status in statuses.items() if status == "sent"}
    assert len(accepted) == 4
    assert sent <= accepted
    assert len(accepted - sent) <= 1
    assert Counter(statuses.values()) == {"sent": len(sent), "pending": 6 - len(sent)}


def test_a_write_that_fails_mid_batch_is_left_to_the_end_of_the_batch(monkeypatch, caplog):
    monkeypatch.setattr(pipeline, "RECORD_EVERY_SECONDS", 0)
    record = ROWS.record
    calls = []

    def record_failing_once(ended, *, using):
        calls.append(len(ended))
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return record(ended, using=using)

    monkeypatch.setattr(ROWS, "record", record_failing_once)
    with (
        SmtpSink() as sink,
        override_settings(TASKS=DUMMY_TASKS, **smtp_settings(sink.port), **email_connections(1)),
    ):
        rows = seed_email_notifications(3)
        counts = process_notifications(batch_size=3)
    assert sink.handler.message_ids() == Counter({message_id(row): 1 for row in rows})
    assert counts["sent"] == 3
    assert Counter(Notification.objects.values_list("status", flat=True)) == {"sent": 3}
    # The first row's write failed mid-batch; the others were written as they settled, and the
    # first at the end of the batch, once.
    assert calls == [1, 1, 1, 1]
    assert "Could not record 1 outcome(s) mid-batch" in caplog.text
