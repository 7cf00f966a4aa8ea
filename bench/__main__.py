"""``python -m bench [--smoke] [--db sqlite|postgres ...] [--json FILE]``: P1–P9 on each database.

Starts the SMTP sink, runs one suite process per database (PostgreSQL is skipped, with the
reason, when 127.0.0.1:5432 cannot be reached), then prints the machine and one table of
ratios, every ratio measured against a baseline from the same run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .smtp_sink import SinkProcess
from .table import format_report

DATABASES = ("sqlite", "postgres")


def postgres_unreachable():
    """``None`` if PostgreSQL answers at 127.0.0.1:5432, else why not."""
    try:
        import psycopg

        psycopg.connect(
            host="127.0.0.1",
            port=5432,
            user=os.environ.get("PGUSER", "postgres"),
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except Exception as error:
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error) else ''}"
    return None


def run_suite(engine, mode, workdir, smtp_port, only):
    out = Path(workdir) / f"{engine}.json"
    environment = {
        **os.environ,
        "BENCH_WORKDIR": workdir,
        "BENCH_SMTP_PORT": str(smtp_port),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_DB": engine,
    }
    environment.pop("BENCH_DB_NAME", None)
    finished = subprocess.run(
        [sys.executable, "-m", "bench.suite", engine, mode, str(out), ",".join(only or [])],
        env=environment,
        check=False,
    )
    if finished.returncode or not out.exists():
        return {"skipped": f"the {engine} suite exited with {finished.returncode}"}
    return json.loads(out.read_text())


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, one run: seconds, for CI")
    parser.add_argument("--db", action="append", choices=DATABASES, help="default: both")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    parser.add_argument("--only", action="append", metavar="PN", help="run only these benchmarks (P1…P9)")
    parser.add_argument(
        "--charts", metavar="DIR", help="write the SVG charts there (default: docs/img, none with --smoke)"
    )
    options = parser.parse_args(argv)
    mode = "smoke" if options.smoke else "full"
    results = {}
    with tempfile.TemporaryDirectory(prefix="spire-bench-") as workdir, SinkProcess() as sink:
        for engine in options.db or DATABASES:
            reason = postgres_unreachable() if engine == "postgres" else None
            if reason:
                results[engine] = {"skipped": f"PostgreSQL at 127.0.0.1:5432 is unreachable ({reason})"}
                continue
            print(f"running {engine} ({mode})…", file=sys.stderr, flush=True)
            results[engine] = run_suite(engine, mode, workdir, sink.port, options.only)
    command = "python -m bench" + (" --smoke" if options.smoke else "")
    print(format_report(results, command))
    if options.json:
        Path(options.json).write_text(json.dumps(results, indent=2, default=str))
    charts = options.charts or (None if options.smoke else "docs/img")
    if charts:
        from .charts import write_charts

        for path in write_charts(results, charts):
            print(f"chart: {path}", file=sys.stderr)
    failed = any(result.get("errors") for result in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
