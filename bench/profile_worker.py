"""Profile one worker delivering email into the SMTP sink: the profile behind P3.

``python -m bench.profile_worker [--db sqlite|postgres] [--emails N] [--sort cumulative|tottime]``

Writes N email notifications of one ticket to N users, delivers them once untimed (so that
templates, connections and plans are warm), writes them again and delivers them under cProfile,
then prints the top entries. PostgreSQL is the server at 127.0.0.1:5432, in a database of its own
(``BENCH_PG_NAME``, default ``test_spire_profile``), created and dropped.
"""

import argparse
import cProfile
import io
import os
import pstats
import tempfile
import time

from .smtp_sink import SinkProcess


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile_worker", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--sort", choices=("cumulative", "tottime"), default="cumulative")
    parser.add_argument("--top", type=int, default=30)
    options = parser.parse_args(argv)
    with SinkProcess() as sink, tempfile.TemporaryDirectory() as workdir:
        os.environ.update(
            BENCH_DB=options.db,
            BENCH_SMTP_PORT=str(sink.port),
            BENCH_WORKDIR=workdir,
            DJANGO_SETTINGS_MODULE="bench.settings",
        )
        os.environ.setdefault("BENCH_PG_NAME", "test_spire_profile")
        print(profile(options.emails, options.sort, options.top))


def profile(count, sort, top):
    import django

    django.setup()
    from django.db import connection, transaction

    from spire_notify import notify
    from spire_notify.automations import process_notifications

    from . import population

    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        users = population.make_users("profile-", count, handle_tickets=True)
        message = population.new_ticket_message(population.quiet_ticket())
        profiler = cProfile.Profile()
        for profiled in (False, True):
            with transaction.atomic():
                notify(message, {user: ["email"] for user in users})
            start = time.perf_counter()
            if profiled:
                profiler.enable()
            counts = process_notifications()
            if profiled:
                profiler.disable()
            seconds = time.perf_counter() - start
            population.wipe_notifications()
        report = io.StringIO()
        pstats.Stats(profiler, stream=report).sort_stats(sort).print_stats(top)
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)
    return f"{counts} in {seconds:.2f} s under cProfile ({connection.vendor})\n{report.getvalue()}"


if __name__ == "__main__":
    main()
