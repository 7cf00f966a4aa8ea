"""A channel of a project's own, the example of docs/channels/own.md (tests/example_channel/):
added with one INSTALLED_APPS line and its NOTIFY_BACKENDS entry, and nothing in spire_notify.

Its scenario runs in a pytest of its own, on settings that install it
(tests/example_channel_settings.py), so that its migration applies to a test database as a
project's would."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300)


def test_the_example_channel_works_in_a_project_that_installs_it():
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/example_channel/scenario.py",
            "--ds=tests.example_channel_settings",
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
    # Every test of the scenario and of the contract kit ran and passed: none skipped.
    assert re.fullmatch(r"\d+ passed in [\d.]+s", finished.stdout.splitlines()[-1]), finished.stdout[-500:]


def test_nothing_in_spire_notify_names_it():
    naming = [
        path
        for path in (REPO / "spire_notify").rglob("*")
        if path.is_file()
        and path.suffix in (".py", ".html", ".toml")
        and "example_channel" in path.read_text()
    ]
    assert naming == []
