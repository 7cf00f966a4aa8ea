"""spire-notify's pages in a project that does not install the help desk: no trace of it.

The scenario (tests/core/neutral_layout_scenario.py) runs in a pytest of its own on
tests/neutral_settings.py, as the help desk cannot be left out of the suite's own process:
its models are imported by tests/conftest.py and its types are registered at startup."""

import os

import pytest
from django.db import connections

from tests.support.scenarios import run_scenario

pytestmark = pytest.mark.timeout(300)


def test_the_pages_of_a_project_without_the_help_desk_show_no_trace_of_it():
    run_scenario("tests/core/neutral_layout_scenario.py", "tests.neutral_settings", "--noconftest")


@pytest.mark.skipif(
    os.environ.get("SPIRE_TEST_DB") != "postgres", reason="SQLite's test database is this process's own"
)
def test_a_scenario_leaves_the_suites_postgresql_database_alone(transactional_db, django_user_model):
    # A scenario's settings extend the suite's: with the suite's test database name, its pytest
    # dropped and recreated the database the suite was running on, then dropped it at its end
    # (CI's PostgreSQL leg warned at teardown that the database no longer existed).
    django_user_model.objects.create(username="still-here")
    connections.close_all()  # as between tests: nothing holds the database open
    run_scenario("tests/core/neutral_layout_scenario.py", "tests.neutral_settings", "--noconftest")
    assert django_user_model.objects.filter(username="still-here").exists()
