"""One database's run of P1–P9: ``python -m bench.suite <sqlite|postgres> <smoke|full> <out.json>``.

The orchestrator (``python -m bench``) starts one suite per database, because the database
engine is process-wide Django configuration; it then prints every suite's rows in one table.
"""

import json
import os
import sys
import traceback

from .render_email import measure as measure_rendering

SIZES = {
    "smoke": {
        "p1": [1, 10, 100, 1000],
        "p2": 100,
        "p3": 200,
        "p4": 5,
        "p5": [200, 1000],
        "p6": [10, 1000],
        "p7": [100, 1000],
        "p8": 40,
        "runs": 1,
        "render_repeats": 20,
        "p9": 30,
    },
    "full": {
        "p1": [1, 10, 100, 1000],
        "p2": 1000,
        "p3": 10_000,
        "p4": 100,
        "p5": [1_000, 10_000, 100_000],
        "p6": [10, 1000],
        "p7": [1000, 10_000, 100_000],
        "p8": 2000,
        "runs": 5,
        "render_repeats": 500,
        "p9": 1000,
    },
}
P3_RUNS = {"smoke": 1, "full": 3}
P7_ROUNDS = {"smoke": 1, "full": 5}
P9_ROUNDS = {"smoke": 1, "full": 3}


def benchmarks(engine, mode, hq_database):
    from . import backlog, delivery, fanout, inbox, latency, rendering, streams, write_path

    size = SIZES[mode]
    return [
        ("P1", lambda: write_path.p1_queries(size["p1"])),
        (
            "P2",
            lambda: write_path.p2_write_time(
                size["p2"], size["runs"], engine=engine, hq_database=hq_database
            ),
        ),
        ("P3", lambda: delivery.p3_delivery(size["p3"], P3_RUNS[mode])),
        ("P4", lambda: rendering.p4_rendering(size["p4"])),
        ("P5", lambda: backlog.p5_backlog(size["p5"])),
        ("P6", lambda: inbox.p6_queries(size["p6"])),
        (
            "P7",
            lambda: fanout.p7_fanout(size["p7"], P7_ROUNDS[mode], engine=engine, hq_database=hq_database),
        ),
        ("P8", lambda: latency.p8_relay(size["p8"])),
        ("P9", lambda: streams.p9_streams(size["p9"], P9_ROUNDS[mode])),
    ]


def main():
    engine, mode, out = sys.argv[1:4]
    only = set(filter(None, (sys.argv[4] if len(sys.argv) > 4 else "").split(",")))
    os.environ["BENCH_DB"] = engine
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.db import connection

    from . import machine
    from .measure import Row

    hq_database = (
        f"{connection.settings_dict['TEST']['NAME']}_hq"
        if engine == "postgres"
        else os.path.join(os.environ["BENCH_WORKDIR"], "hq.sqlite3")
    )
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    results = {"machine": machine.describe(connection), "rows": [], "errors": {}}
    try:
        for name, run in benchmarks(engine, mode, hq_database):
            if only and name not in only:
                continue
            try:
                results["rows"] += [row.as_dict() for row in run()]
            except Exception as error:
                results["errors"][name] = traceback.format_exc()
                results["rows"].append(
                    Row(id=name, what="failed", ours=f"{type(error).__name__}: {error}", met=False).as_dict()
                )
            print(f"  {engine}: {name} done", file=sys.stderr, flush=True)
        if not only or "P4" in only:
            results["render_email"] = measure_rendering(SIZES[mode]["render_repeats"])
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)
    with open(out, "w") as output:
        json.dump(results, output, indent=2, default=str)


if __name__ == "__main__":
    main()
