"""The printed report: the machine, then one table of every database's rows."""

COLUMNS = (
    ("id", "id"),
    ("db", "db"),
    ("what", "measure"),
    ("ours", "spire-notify"),
    ("baseline", "baseline"),
    ("ratio", "ratio"),
    ("target", "target"),
    ("met", "met"),
)
MET = {True: "yes", False: "NO", None: ""}


def format_table(rows):
    cells = [
        [MET[row["met"]] if key == "met" else str(row.get(key, "")) for key, _ in COLUMNS] for row in rows
    ]
    headers = [header for _, header in COLUMNS]
    widths = [max(len(line[index]) for line in [headers, *cells]) for index in range(len(headers))]

    def line(values):
        return (
            "| " + " | ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)) + " |"
        )

    return "\n".join(
        [line(headers), "|" + "|".join("-" * (width + 2) for width in widths) + "|", *map(line, cells)]
    )


def format_report(results, command):
    lines = [f"$ {command}", ""]
    machines = {engine: result["machine"] for engine, result in results.items() if "machine" in result}
    if machines:
        first = next(iter(machines.values()))
        lines.append(
            f"machine: {first['cpu']}, {first['cores']} cores, {first['os']}, "
            f"Python {first['python']}, Django {first['django']}"
        )
        lines.append("databases: " + ", ".join(machine["database"] for machine in machines.values()))
    for engine, result in results.items():
        if "skipped" in result:
            lines.append(f"{engine}: SKIPPED: {result['skipped']}")
    rows = [{**row, "db": engine} for engine, result in results.items() for row in result.get("rows", [])]
    lines += ["", format_table(rows)]
    for engine, result in results.items():
        if "render_email" in result:
            lines += ["", f"one ticket email rendered ({engine} run):"]
            lines += [
                f"  inliner={name:<10} {figure['ms']:7.3f} ms  ({figure['html_bytes']:,} B of HTML)"
                for name, figure in result["render_email"].items()
            ]
        for name, trace in result.get("errors", {}).items():
            lines += ["", f"{engine} {name} failed:", trace]
    return "\n".join(lines)
