"""The bench's charts: drawn from a run's rows, one SVG per chart whose benchmark ran."""

import pytest

pytest.importorskip("matplotlib")

from bench.charts import write_charts  # noqa: E402


def row(benchmark, what, **values):
    return {"id": benchmark, "what": what, "values": values}


RESULTS = {
    "postgres": {
        "rows": [
            row(
                "P3",
                "10,000 emails delivered by one worker, rendering excluded, vs raw smtplib",
                ours=12.5,
                baseline=10,
            ),
            row(
                "P3", "10,000 emails end to end (write + render + send) vs post-office", ours=20, baseline=45
            ),
            *(
                row(
                    "P5",
                    f"drain {size:,} pending (half app, half email) in a fresh worker",
                    seconds=size / 900,
                    peak_rss_mb=80,
                )
                for size in (1_000, 10_000, 100_000)
            ),
            row("P5", "time per notification, 100,000 vs 10,000 backlog", ours=110, baseline=11),
            *(
                row(
                    "P7",
                    f"notify a {size:,}-user QuerySet on app + email vs bare INSERT … SELECT",
                    ours=size / 4e4,
                    bare=size / 5e4,
                )
                for size in (1_000, 10_000, 100_000)
            ),
            row(
                "P7",
                "notify a 100,000-user QuerySet vs notifications-hq notify.send (autocommit)",
                ours=2.5,
                baseline=150,
            ),
        ]
    },
    "sqlite": {"skipped": "not run"},
}


def test_one_svg_per_chart(tmp_path):
    written = write_charts(RESULTS, tmp_path)
    assert [path.name for path in written] == ["delivery.svg", "backlog.svg", "fanout.svg"]
    fanout = (tmp_path / "fanout.svg").read_text()
    assert fanout.startswith("<?xml") and "Notifying an audience (P7)" in fanout
    assert "postgres: bare INSERT … SELECT" in fanout


def test_a_benchmark_that_did_not_run_draws_no_chart(tmp_path):
    only_p3 = {"postgres": {"rows": RESULTS["postgres"]["rows"][:2]}}
    assert [path.name for path in write_charts(only_p3, tmp_path)] == ["delivery.svg"]
