"""``python -m bench.fanout_alone``: P7 at a size of one's choice writes its users in one
statement, notifies them, and prints P7's rows for that size (no timing is asserted)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import postgres_unreachable
from spire_notify.compat import HAS_MAILERS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not HAS_MAILERS, reason="the benchmarks run on Django 6.1 (named MAILERS)")


def fanout_alone(database, users):
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.fanout_alone",
            "--db",
            database,
            "--users",
            str(users),
            "--rounds",
            "1",
        ],
        cwd=ROOT,
        env={**os.environ, "BENCH_PG_NAME": f"test_spire_fanout_alone_{os.getpid()}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished.stdout


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_it_prints_p7_at_the_size_asked(database):
    if database == "postgres" and (reason := postgres_unreachable()):
        pytest.skip(f"PostgreSQL is unreachable: {reason}")
    output = fanout_alone(database, 2_345)
    assert output.startswith(f"$ python -m bench.fanout_alone --db {database} --users 2345 --rounds 1\n")
    assert f"| P7 | {database}" in output
    assert "notify a 2,345-user QuerySet on app + email (4,690 rows + details) vs bare" in output
    assert "| ≤ 1.3× " in output
    assert "peak RSS of notifying a 2,345-user QuerySet" in output
    assert "timed rounds: ours [" in output
