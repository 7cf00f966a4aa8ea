"""The bench keeps working: its smoke mode runs end to end and fills the table.

No timing is asserted (a shared CI machine makes them noise); query counts are exact, so the
rows that are counts are held to their targets.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import postgres_unreachable
from bench.profile_worker import PHASES
from spire_notify.compat import HAS_MAILERS

# The benchmarks measure the newest Django: they send through named MAILERS (Django 6.1).
pytestmark = pytest.mark.skipif(not HAS_MAILERS, reason="the benchmarks run on Django 6.1 (named MAILERS)")

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9"]


def run_module(module, *arguments, timeout=600):
    """``python -m module arguments`` from the checkout; its output, once it exited with 0."""
    finished = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished.stdout


def run_smoke(database, tmp_path):
    results_file = tmp_path / "results.json"
    output = run_module("bench", "--smoke", "--db", database, "--json", str(results_file))
    return output, json.loads(results_file.read_text())[database]


def rows_of(result, benchmark):
    return [row for row in result["rows"] if row["id"] == benchmark]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def smoke_run(request, tmp_path_factory):
    """One smoke run per database, shared by the tests of this module."""
    if request.param == "postgres" and (reason := postgres_unreachable()):
        pytest.skip(
            f"PostgreSQL at 127.0.0.1:5432 is unreachable, so its half of the bench is skipped: {reason}"
        )
    return run_smoke(request.param, tmp_path_factory.mktemp(request.param))


@pytest.mark.timeout(600)
def test_smoke_run_prints_the_machine_and_a_row_per_benchmark(smoke_run):
    output, result = smoke_run
    assert output.startswith("$ python -m bench --smoke\n")
    assert "machine: " in output and " cores, " in output
    assert "| id | db " in output
    assert result["errors"] == {}
    assert sorted({row["id"] for row in result["rows"]}) == BENCHMARKS
    assert all(row["what"] != "failed" for row in result["rows"])


@pytest.mark.timeout(600)
def test_smoke_run_query_counts_do_not_grow(smoke_run):
    _, result = smoke_run
    [creation] = rows_of(result, "P1")
    counts = creation["values"]["queries"]
    assert list(counts) == ["1", "10", "100", "1000"]
    assert len(set(counts.values())) == 1
    pages = rows_of(result, "P6")
    measured = [page for page in pages if page["values"]]
    assert measured, pages
    for page in measured:
        assert list(page["values"]["queries"]) == ["10", "1000"]
        assert len(set(page["values"]["queries"].values())) == 1
        assert max(page["values"]["queries"].values()) <= 6


@pytest.mark.timeout(600)
def test_smoke_run_measures_the_relay_against_each_peer(smoke_run):
    _, result = smoke_run
    relay = rows_of(result, "P8")
    assert [row["target"] for row in relay] == ["≥ 5× faster", "", "≥ 10× faster", "≥ 3.5×"]
    assert all("relay 25 ms away:" in row["what"] for row in relay)
    assert "(48 connections, 1000 a batch)" in relay[2]["what"]
    # Every side delivered every email (the bench asserts the counts) and took some time.
    assert all(row["values"]["ours"] > 0 and row["values"]["baseline"] > 0 for row in relay), relay
    # A lower bound the relay guarantees, not a timing: raw smtplib waits for 4 replies an email
    # (MAIL, RCPT, DATA, the end of data), each at least 25 ms away, so it went through the relay.
    assert relay[0]["values"]["baseline"] >= 40 * 4 * 0.025, relay[0]


@pytest.mark.timeout(300)
def test_the_worker_profile_runs_and_names_the_send_loop():
    output = run_module("bench.profile_worker", "--emails", "20", "--top", "200", timeout=300)
    assert output.startswith("{'sent': 20, 'errored': 0, 'failed': 0, 'skipped': 0} in ")
    assert "django_smtp.py" in output and "(send)" in output


@pytest.mark.timeout(300)
def test_the_worker_phases_are_timed_and_nest_in_the_run():
    output = run_module(
        "bench.profile_worker", "--phases", "--emails", "20", "--batch-size", "5", timeout=300
    )
    header, _, *steps = output.strip().splitlines()
    assert header.startswith("{'sent': 20, 'errored': 0, 'failed': 0, 'skipped': 0} in ")
    assert "5 rows a batch, 4 connections" in header
    milliseconds = {line[:36].strip(): float(line[36:].split()[0]) for line in steps}
    assert list(milliseconds) == [label.strip() for label, _, _ in PHASES]
    assert all(value > 0 for value in milliseconds.values()), milliseconds
    # The SMTP exchange happens inside the hand-over, which is inside the run; on the hand-over's
    # 4 connections side by side, so its time summed over them is within 4 hand-overs'.
    assert milliseconds["the SMTP exchange"] < 4 * milliseconds["hand over"]
