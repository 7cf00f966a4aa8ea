"""Profile one worker delivering email into the SMTP sink: the profile behind P3.

``python -m bench.profile_worker [--db sqlite|postgres] [--emails N] [--sort cumulative|tottime]
[--phases] [--batch-size N]``

Writes N email notifications of one ticket to N users, delivers them once untimed (so that
templates, connections and plans are warm), writes them again and delivers them measured, then
prints the top entries of cProfile, or with ``--phases`` the wall time of each step of the
worker (no profiler, so no overhead on Python code; the steps nest: the SMTP exchange is part
of the hand-over; the hand-over's own steps run on the email channel's connections side by side,
a thread each, and are summed over them, so together they may exceed the hand-over's wall
time). PostgreSQL is the server at 127.0.0.1:5432, in a database of its own
(``BENCH_PG_NAME``, default ``test_spire_profile``), created and dropped.
"""

import argparse
import cProfile
import importlib
import io
import os
import pstats
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import django

from .measure import TimeAccumulator
from .smtp_sink import SinkProcess

# The steps of a worker's batch: (label, "module[:Class]", the function or method timed).
PHASES = [
    ("claim the batch", "spire_notify.worker.process", "claim_batch"),
    ("give up abandoned rows", "spire_notify.worker.process", "give_up_abandoned"),
    ("load targets", "spire_notify.worker.pipeline", "load_targets"),
    ("check access", "spire_notify.worker.skips", "skip_unreachable"),
    ("check preferences", "spire_notify.worker.skips", "skip_switched_off"),
    ("render (excluded from P3)", "spire_notify.worker.rows", "_render"),
    ("hand over", "spire_notify.worker.pipeline", "hand_over"),
    ("  the message's MIME, once a batch", "spire_notify.pinned.django_smtp", "FlattenedMIME"),
    ("  each recipient's bodies", "spire_notify.pinned.django_smtp:FlattenedMIME", "with_bodies_of"),
    ("  the SMTP exchange", "spire_notify.pinned.django_smtp", "send_pipelined"),
    ("record the outcomes", "spire_notify.worker.rows:Rows", "record"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile_worker", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--sort", choices=("cumulative", "tottime"), default="cumulative")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--phases", action="store_true", help="time the worker's steps instead")
    parser.add_argument("--batch-size", type=int, default=None, help="default: NOTIFY_BATCH_SIZE")
    options = parser.parse_args(argv)
    with SinkProcess() as sink, tempfile.TemporaryDirectory() as workdir:
        os.environ.update(
            BENCH_DB=options.db,
            BENCH_SMTP_PORT=str(sink.port),
            BENCH_WORKDIR=workdir,
            DJANGO_SETTINGS_MODULE="bench.settings",
        )
        os.environ.setdefault("BENCH_PG_NAME", "test_spire_profile")
        django.setup()
        if options.phases:
            print(time_phases(options.emails, options.batch_size))
        else:
            print(profile(options.emails, options.batch_size, options.sort, options.top))


def profile(count, batch_size, sort, top):
    profiler = cProfile.Profile()
    run = deliver_twice(count, batch_size, start=profiler.enable, stop=profiler.disable)
    report = io.StringIO()
    pstats.Stats(profiler, stream=report).sort_stats(sort).print_stats(top)
    return f"{run.counts} in {run.seconds:.2f} s under cProfile ({run.vendor})\n{report.getvalue()}"


def time_phases(count, batch_size):
    with ExitStack() as stack:
        # Every owner is found before any is replaced (a class's method, and the class itself).
        owners = [(label, resolve(owner), name) for label, owner, name in PHASES]
        steps = {label: stack.enter_context(timed(owner, name)) for label, owner, name in owners}

        def restart():
            for step in steps.values():
                step.seconds = 0.0

        run = deliver_twice(count, batch_size, start=restart)
    lines = [
        f"{run.counts} in {run.seconds:.2f} s ({run.vendor}, {run.batch_size} rows a batch, "
        f"{run.connections} connections): "
        f"{run.seconds / count * 1e6:.0f} us an email",
        f"{'step':36} {'ms':>9} {'us/email':>9} {'share':>6}",
    ]
    for label, step in steps.items():
        per_email = step.seconds / count * 1e6
        lines.append(
            f"{label:36} {step.seconds * 1000:9.1f} {per_email:9.1f} {step.seconds / run.seconds:6.0%}"
        )
    return "\n".join(lines)


def resolve(owner_path):
    """The module, or the module's class, that ``"module[:Class]"`` names."""
    module_name, _, class_name = owner_path.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name) if class_name else module


@contextmanager
def timed(owner, attribute):
    """``owner.attribute`` (a module's function or a class's method) timed for the block."""
    original = getattr(owner, attribute)
    step = TimeAccumulator(original)
    # A method must stay a function, so that it still binds to its instance.
    setattr(
        owner, attribute, (lambda *args, **kwargs: step(*args, **kwargs)) if isinstance(owner, type) else step
    )
    try:
        yield step
    finally:
        setattr(owner, attribute, original)


@dataclass
class Run:
    counts: dict
    seconds: float
    vendor: str
    batch_size: int
    connections: int


def deliver_twice(count, batch_size, *, start, stop=lambda: None):
    """Write ``count`` emails and deliver them, twice; ``start()`` and ``stop()`` bracket the
    second delivery, which the returned ``Run`` measures."""
    from django.db import connection, transaction

    from spire_notify import conf, notify
    from spire_notify.handler import notify_backends
    from spire_notify.worker.process import process_notifications

    from . import population

    batch_size = batch_size or conf.get("NOTIFY_BATCH_SIZE")
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        users = population.make_users("profile-", count, handle_tickets=True)
        message = population.new_ticket_message(population.quiet_ticket())
        for measured in (False, True):
            with transaction.atomic():
                notify(message, {user: ["email"] for user in users})
            if measured:
                start()
            began = time.perf_counter()
            counts = process_notifications(batch_size=batch_size)
            seconds = time.perf_counter() - began
            if measured:
                stop()
            population.wipe_notifications()
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)
    return Run(counts, seconds, connection.vendor, batch_size, notify_backends["email"].max_connections)


if __name__ == "__main__":
    main()
