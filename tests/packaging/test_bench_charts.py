"""The bench's charts: drawn from a run's rows, one SVG per chart whose benchmark ran."""

import pytest

pytest.importorskip("matplotlib")

from bench.charts import write_charts  # noqa: E402


def row(benchmark, what, **values):
    return {"id": benchmark, "what": what, "values": values}


WHERE = "2,000 emails, relay 25 ms away:"
P8_ROWS = [
    row(
        "P8",
        f"{WHERE} one worker (default settings) vs raw smtplib (one connection, one by one)",
        ours=32,
        baseline=240,
    ),
    row(
        "P8",
        f"{WHERE} one worker (default: 4 connections, 100 a batch) vs post-office send_queued",
        ours=32,
        baseline=50,
    ),
    row(
        "P8",
        f"{WHERE} one worker tuned for the relay (48 connections) vs post-office send_queued",
        ours=4,
        baseline=50,
    ),
    row("P8", f"{WHERE} 4 workers vs one worker", ours=9, baseline=32),
]

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
            *P8_ROWS,
            row(
                "P9",
                "1,000 live streams, one notify(): commit → last stream (median of 3)",
                streams=1000,
                rounds=[
                    {"first": 0.05, "median": 0.25, "last": last, "published": 0.1}
                    for last in (0.4, 0.9, 0.5)
                ],
            ),
        ]
    },
    "sqlite": {"skipped": "not run"},
}


def test_one_svg_per_chart(tmp_path):
    written = write_charts(RESULTS, tmp_path)
    assert [path.name for path in written] == [
        "delivery.svg",
        "backlog.svg",
        "fanout.svg",
        "relay.svg",
        "streams.svg",
    ]
    fanout = (tmp_path / "fanout.svg").read_text()
    assert fanout.startswith("<?xml") and "Notifying an audience (P7)" in fanout
    assert "postgres: bare INSERT … SELECT" in fanout
    relay = (tmp_path / "relay.svg").read_text()
    assert "Sending through a relay 25 ms away (P8)" in relay
    assert all(bar in relay for bar in ("raw smtplib", "post-office", "tuned", "four workers"))
    streams = (tmp_path / "streams.svg").read_text()
    assert "1,000 live streams, one notification (P9, the median round)" in streams
    assert "target: 1 s" in streams and "last stream" in streams


def test_the_relay_chart_draws_what_ran_when_post_office_could_not(tmp_path):
    """post-office's rows carry no values when it could not be measured: the chart leaves its
    bar and the tuned worker's out, and keeps the rest."""
    rows = [P8_ROWS[0], {**P8_ROWS[2], "values": None}, P8_ROWS[3]]
    [relay] = write_charts({"sqlite": {"rows": rows}}, tmp_path)
    text = relay.read_text()
    assert relay.name == "relay.svg" and "four workers" in text
    assert "post-office" not in text


def test_a_benchmark_that_did_not_run_draws_no_chart(tmp_path):
    only_p3 = {"postgres": {"rows": RESULTS["postgres"]["rows"][:2]}}
    assert [path.name for path in write_charts(only_p3, tmp_path)] == ["delivery.svg"]
