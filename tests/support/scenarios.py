"""A scenario: a test module run by a pytest of its own, on settings of its own, for what the
suite's process cannot be (a project without the help desk, one with a channel app installed)."""

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


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
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-2000:]
    assert re.fullmatch(r"\d+ passed in [\d.]+s", finished.stdout.splitlines()[-1]), finished.stdout[-500:]
