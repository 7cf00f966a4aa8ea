"""The whole test suite, as the README's `make test` and CI run it.

    python -m tests.run [--sqlite-only] [--label LABEL] [pytest arguments]

Runs pytest on SQLite, then again on PostgreSQL (127.0.0.1:5432) when a server answers there,
and closes with one line counting both runs. Without a PostgreSQL server (a laptop), that run is
skipped and said so; under CI (CI=true) a missing server is a failure instead.

``--sqlite-only`` is the run on the other supported Django versions (`make
test-django-versions`): SQLite alone, and SPIRE_TEST_DJANGO_MATRIX=1 tells the tests that do
not depend on the installed Django (building and installing the wheel) that they already ran
in the main run. ``--label`` names the run in its closing lines.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from functools import partial
from pathlib import Path

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": os.environ.get("PGUSER", "postgres")}


def postgres_unreachable_reason():
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        psycopg.connect(dbname="postgres", connect_timeout=3, **POSTGRES).close()
    except psycopg.Error as error:
        return f"no PostgreSQL server answers at 127.0.0.1:5432 ({str(error).strip()})"
    return None


def run_pytest(database, extra_args, report_dir, *, label, matrix):
    report = Path(report_dir) / f"{database}.xml"
    env = os.environ | {"SPIRE_TEST_DB": database}
    if matrix:
        env["SPIRE_TEST_DJANGO_MATRIX"] = "1"
    print(f"\n=== tests on {database}, {label} ===", flush=True)
    command = [sys.executable, "-m", "pytest", f"--junitxml={report}", *extra_args]
    code = subprocess.call(command, env=env)
    return code, count(report)


def count(report):
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    if not report.exists():
        return totals
    for suite in ET.parse(report).getroot().iter("testsuite"):
        tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        totals["failed"] += failed
        totals["skipped"] += skipped
        totals["passed"] += tests - skipped - failed
    return totals


def parse(argv):
    import django

    parser = argparse.ArgumentParser(
        prog="python -m tests.run", description=__doc__.splitlines()[0], allow_abbrev=False
    )
    parser.add_argument("--sqlite-only", action="store_true", help="skip the PostgreSQL run")
    parser.add_argument("--label", default=f"django {django.get_version()}", help="names the run")
    return parser.parse_known_args(argv)


def main(argv):
    options, extra_args = parse(argv)
    run = partial(run_pytest, label=options.label, matrix=options.sqlite_only)
    results = {}
    with tempfile.TemporaryDirectory() as report_dir:
        results["sqlite"] = run("sqlite", extra_args, report_dir)
        reason = None if options.sqlite_only else postgres_unreachable_reason()
        if options.sqlite_only:
            print("\n=== this run is on SQLite only (--sqlite-only) ===")
        elif reason is None:
            results["postgres"] = run("postgres", extra_args, report_dir)
        elif os.environ.get("CI"):
            print(f"\nPostgreSQL is required under CI: {reason}", file=sys.stderr)
            return 1
        else:
            print(f"\n=== SKIPPED: the PostgreSQL run of the suite: {reason} ===")
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for database, (code, counts) in results.items():
        print(
            f"{database} ({options.label}): exit {code}, " + ", ".join(f"{n} {k}" for k, n in counts.items())
        )
        for key in totals:
            totals[key] += counts[key]
    print(f"total: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    failed = any(code != 0 for code, _ in results.values()) or totals["passed"] == 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
