"""spire-notify's pages in a project that does not install the help desk: no trace of it.

The scenario (tests/core/neutral_layout_scenario.py) runs in a pytest of its own on
tests/neutral_settings.py, as the help desk cannot be left out of the suite's own process:
its models are imported by tests/conftest.py and its types are registered at startup."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300)


def test_the_pages_of_a_project_without_the_help_desk_show_no_trace_of_it():
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/core/neutral_layout_scenario.py",
            "--ds=tests.neutral_settings",
            "--noconftest",
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
