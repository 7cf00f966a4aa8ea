"""A scenario: a test module run by a pytest of its own, on settings of its own, for what the
suite's process cannot be (a project without the help desk, one with a channel app installed)."""

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def scenario_database(module):
    """The PostgreSQL test database of a scenario's pytest: its settings extend the suite's, and
    with the suite's name it would drop and recreate the database the suite is running on (its
    test runner clobbers one that exists), and drop it when it ends."""
    suite = os.environ.get("SPIRE_TEST_PG_NAME", "test_spire_notify")
    return f"{suite}_{Path(module).stem}_{os.getpid()}"


def run_scenario(module, settings, *options):
    """Run ``module`` (a path from the repository root) on ``settings`` and assert that every
    one of its tests ran and passed: none failed, none skipped."""
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            module,
            f"--ds={settings}",
            *options,
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "SPIRE_TEST_PG_NAME": scenario_database(module)},
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-2000:]
    assert re.fullmatch(r"\d+ passed in [\d.]+s", finished.stdout.splitlines()[-1]), finished.stdout[-500:]
