"""Celery: a real worker process on Redis (127.0.0.1:6379, database 13) delivers what a
commit enqueued through ``CeleryBackend``, and beat picks up what nobody enqueued."""

import signal
import uuid

import pytest
from django.test import override_settings

from spire_notify.models import Notification
from tests.support.delivery_harness import (
    DUMMY_TASKS,
    ROOT,
    SmtpSink,
    finish,
    message_id,
    seed_email_notifications,
    shared_db,
    wait_until,
    worker_env,
)
from tests.support.redis_server import reachable_redis

__all__ = ["shared_db"]

# A database number of its own, so that the test never reads anyone else's keys.
REDIS_URL = "redis://127.0.0.1:6379/13"
CELERY_TASKS = {"default": {"BACKEND": "spire_notify.contrib.celery.CeleryBackend"}}


@pytest.fixture
def broker():
    client = reachable_redis(REDIS_URL)
    # And a queue of this test's own: two suites on one machine (CI's and a developer's) share
    # the database, and a worker of the other suite took this one's task to its own database,
    # where nothing was waiting (and a flush of the database dropped the other's).
    queue = f"spire-notify-tests-{uuid.uuid4().hex}"
    from tests.support.delivery_celery_app import app

    # This process only sends tasks; its app must send them where the worker listens.
    app.conf.broker_url = REDIS_URL
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    yield queue
    app.conf.task_default_queue = default_queue
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def celery_worker(shared_db, broker, tmp_path):
    """Start ``celery worker`` (with ``--beat`` if asked) and stop it with SIGTERM."""
    started = []

    def start(*, beat=False, smtp_port):
        import subprocess
        import sys

        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.support.delivery_celery_app",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
        ]
        if beat:
            command += ["--beat", "--schedule", str(tmp_path / "beat-schedule")]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=worker_env(
                shared_db, smtp_port=smtp_port, redis_url=REDIS_URL, celery_queue=broker, tasks="celery"
            ),
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        finish(process, timeout=60)


@override_settings(TASKS=CELERY_TASKS)
def test_worker_delivers_the_notifications_a_commit_enqueued(
    celery_worker, developer, manager, create_ticket
):
    with SmtpSink() as sink:
        celery_worker(smtp_port=sink.port)
        ticket = create_ticket()
        wait_until(
            lambda: set(Notification.objects.values_list("status", flat=True)) == {"sent"},
            timeout=60,
            message="the Celery worker to deliver",
        )
    email = Notification.objects.get(object_id=str(ticket.pk), channel="email")
    assert sink.handler.received == [(message_id(email), developer.email)]
    assert Notification.objects.count() == 3


@override_settings(TASKS=DUMMY_TASKS)
def test_beat_picks_up_notifications_nobody_enqueued(celery_worker):
    seeded = seed_email_notifications(5)
    with SmtpSink() as sink:
        celery_worker(beat=True, smtp_port=sink.port)
        wait_until(
            lambda: set(Notification.objects.values_list("status", flat=True)) == {"sent"},
            timeout=60,
            message="beat's periodic delivery",
        )
    assert set(sink.handler.message_ids()) == {message_id(row) for row in seeded}
