"""A channel of a project's own, the example of docs/channels/own.md (tests/example_channel/):
added with one INSTALLED_APPS line and its NOTIFY_BACKENDS entry, and nothing in spire_notify.

Its scenario runs in a pytest of its own, on settings that install it
(tests/example_channel_settings.py), so that its migration applies to a test database as a
project's would."""

import pytest

from tests.support.scenarios import REPO, run_scenario

pytestmark = pytest.mark.timeout(300)


def test_the_example_channel_works_in_a_project_that_installs_it():
    run_scenario("tests/example_channel/scenario.py", "tests.example_channel_settings")


def test_nothing_in_spire_notify_names_it():
    naming = [
        path
        for path in (REPO / "spire_notify").rglob("*")
        if path.is_file()
        and path.suffix in (".py", ".html", ".toml")
        and "example_channel" in path.read_text()
    ]
    assert naming == []
