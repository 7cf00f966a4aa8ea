"""``manage.py process_notifications``: once, in a loop, on a terminal, and stopped by a signal."""

import io
import os
import pty
import re
import signal
import subprocess
import sys
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from spire_notify import Message, notify
from spire_notify.models import Notification
from tests.support.delivery_harness import (
    DUMMY_TASKS,
    ROOT,
    SmtpSink,
    finish,
    manage,
    seed_email_notifications,
    shared_db,
    wait_until,
    worker_env,
)

__all__ = ["shared_db"]

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("process_notifications", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def three_pending(make_user):
    # Three emails, left pending: the worker delivers what transmits (in-app rows are sent at write).
    with override_settings(TASKS=DUMMY_TASKS):
        notify(
            Message(event="test", title="Deploy finished"), {make_user(f"u{i}"): ["email"] for i in range(3)}
        )
    assert Notification.objects.filter(status="pending").count() == 3


def test_one_run_delivers_everything_ready_and_prints_one_summary_line(three_pending):
    output = run("--batch-size", "1")
    assert re.fullmatch(
        r"sent 3, errored 0, failed 0, skipped 0 \(3 notifications in 3 batches, \d+\.\ds\)\n", output
    )
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_a_run_with_nothing_ready_says_so():
    assert re.fullmatch(
        r"sent 0, errored 0, failed 0, skipped 0 \(0 notifications in 0 batches, \d+\.\ds\)\n", run()
    )


def test_a_misconfigured_backend_stops_the_command_before_any_row_is_claimed(three_pending):
    with override_settings(DEBUG=True, DEVELOPMENT_EMAIL=""), pytest.raises(CommandError) as raised:
        run()
    assert str(raised.value) == (
        "Notification delivery is misconfigured: spire_notify.E010: DEBUG is on and "
        "DEVELOPMENT_EMAIL is not set, so email would reach real recipients; spire-notify "
        "sends none until it is set."
    )
    assert set(Notification.objects.filter(channel="email").values_list("status", "attempts")) == {
        ("pending", 0)
    }


def test_batch_size_must_be_positive():
    with pytest.raises(CommandError, match=r"^--batch-size must be at least 1\.$"):
        run("--batch-size", "0")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@override_settings(TASKS=DUMMY_TASKS)
def test_a_stopped_loop_hands_no_further_message_over_and_gives_the_rest_back(shared_db, stop_signal):
    seed_email_notifications(60)
    # 50 ms per message: a batch of 10 lasts half a second, so the signal lands inside one.
    with SmtpSink(delay=0.05) as sink:
        worker = manage(
            "process_notifications",
            "--loop",
            "--batch-size",
            "10",
            "--interval",
            "0.2",
            env=worker_env(shared_db, smtp_port=sink.port),
        )
        wait_until(lambda: sink.handler.message_ids(), timeout=60, interval=0.02, message="the first message")
        worker.send_signal(stop_signal)
        output = finish(worker, timeout=60)
    statuses = Counter(Notification.objects.values_list("status", flat=True))
    # The message in flight was finished and recorded; no further one was handed over, and the
    # rest of the batch was handed back with no attempt spent.
    assert statuses["processing"] == 0
    assert 1 <= statuses["sent"] < 60
    assert statuses["sent"] + statuses["pending"] == 60
    assert set(Notification.objects.filter(status="pending").values_list("attempts", flat=True)) == {0}
    assert sum(sink.handler.message_ids().values()) == statuses["sent"]
    assert output.endswith("Stopped.\n")
    assert re.search(rf"^sent {statuses['sent']}, errored 0, failed 0, skipped 0 ", output, re.MULTILINE)


@override_settings(TASKS=DUMMY_TASKS)
def test_progress_bar_on_a_terminal(shared_db):
    seed_email_notifications(4)
    controller, terminal = pty.openpty()
    with SmtpSink() as sink:
        worker = subprocess.Popen(
            [sys.executable, "-m", "django", "process_notifications", "--batch-size", "2"],
            env=worker_env(shared_db, smtp_port=sink.port),
            cwd=ROOT,
            stdout=terminal,
            stderr=subprocess.PIPE,
        )
        os.close(terminal)
        output = _read_all(controller)
        assert worker.wait(timeout=60) == 0, worker.stderr.read()
    assert "\r[###############---------------] 2/4 sent 2, errored 0, failed 0, skipped 0" in output
    assert "\r[##############################] 4/4 sent 4, errored 0, failed 0, skipped 0" in output


def _read_all(fd):
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the terminal closed: the process has exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()
