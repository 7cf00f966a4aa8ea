"""P7 at one audience size of your choice, without the rest of the suite or notifications-hq:
``python -m bench.fanout_alone [--db sqlite|postgres] [--users N] [--rounds R]``.

For sizes past P7's own (``--users 1000000``): the users are written by one SQL statement
(``bench.population.make_users`` would hold a million ``User`` objects), then
``bench.fanout_run`` notifies them on app + email in a fresh process, round after round against
the bare ``INSERT … SELECT``, and the rows of P7 are printed.
"""

import argparse
import os
import sys
import tempfile

PREFIX = "alone-"


def insert_users(connection, prefix, count):
    """``count`` users named ``<prefix><n>``, in one statement."""
    series = (
        "SELECT n FROM generate_series(0, %s) AS n"
        if connection.vendor == "postgresql"
        else "WITH RECURSIVE series(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM series WHERE n < %s) "
        "SELECT n FROM series"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, "
            "is_staff, is_active, date_joined) "
            f"SELECT '', FALSE, %s || n, 'Bench', 'User', %s || n || '@example.com', FALSE, TRUE, "
            f"CURRENT_TIMESTAMP FROM ({series}) AS numbers",
            [prefix, prefix, count - 1],
        )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.fanout_alone", description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, after one untimed (default 3)")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="spire-fanout-") as workdir:
        os.environ.update(BENCH_DB=options.db, BENCH_WORKDIR=workdir, DJANGO_SETTINGS_MODULE="bench.settings")
        os.environ.pop("BENCH_DB_NAME", None)
        import django

        django.setup()
        from django.db import connection

        from . import machine
        from .fanout import fanout_rows, run_in_subprocess
        from .table import format_report

        original_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            insert_users(connection, PREFIX, options.users)
            print(f"{options.users:,} users written; notifying…", file=sys.stderr, flush=True)
            described = machine.describe(connection)
            result = run_in_subprocess(PREFIX, options.rounds)
        finally:
            connection.creation.destroy_test_db(original_name, verbosity=0)
    rows = [row.as_dict() for row in fanout_rows({options.users: result})]
    command = (
        f"python -m bench.fanout_alone --db {options.db} --users {options.users} --rounds {options.rounds}"
    )
    print(format_report({options.db: {"machine": described, "rows": rows}}, command))
    print(f"timed rounds: ours {result['runs']['ours']}, bare {result['runs']['bare']}")


if __name__ == "__main__":
    main()
