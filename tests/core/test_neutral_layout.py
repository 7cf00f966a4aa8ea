"""spire-notify's pages in a project that does not install the help desk: no trace of it.

The scenario (tests/core/neutral_layout_scenario.py) runs in a pytest of its own on
tests/neutral_settings.py, as the help desk cannot be left out of the suite's own process:
its models are imported by tests/conftest.py and its types are registered at startup."""

import pytest

from tests.support.scenarios import run_scenario

pytestmark = pytest.mark.timeout(300)


def test_the_pages_of_a_project_without_the_help_desk_show_no_trace_of_it():
    run_scenario("tests/core/neutral_layout_scenario.py", "tests.neutral_settings", "--noconftest")
