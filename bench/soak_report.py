"""The soak's figures and its table: per minute, what was written, what the sink accepted, the
faults it injected, the kills, the workers' memory; then every check, passed or failed."""

from collections import Counter

WARM_UP = 10  # seconds: a worker's first batch loads templates and the CSS inliner


def minute_of(seconds):
    return int(seconds // 60)


def memory_windows(samples, minutes):
    """The highest worker RSS (MB) in the first and in the last minute of writing; for a run of
    under three minutes, its first and last third. Samples of a worker's first seconds are left
    out (``WARM_UP``): a new worker replacing a killed one is not yet at its working size."""
    span = 60.0 if minutes >= 3 else minutes * 60 / 3
    end = minutes * 60
    first_seen = {}
    for at, pid, _ in samples:
        first_seen.setdefault(pid, at)
    warm = [(at, megabytes) for at, pid, megabytes in samples if at - first_seen[pid] >= WARM_UP]

    def highest(start, stop):
        inside = [megabytes for at, megabytes in warm if start <= at < stop]
        return max(inside) if inside else None

    return highest(0, span), highest(end - span, end)


def per_minute(*, writer, ledger, kills, samples, started_at, minutes):
    """One row per minute of writing, then one for the drain."""
    accepted = Counter(min(minute_of(at - started_at), minutes) for at in ledger.accepted_times())
    faults = Counter(min(minute_of(at - started_at), minutes) for at, _ in ledger.fault_times)
    killed = Counter(min(minute_of(kill.at - started_at), minutes) for kill in kills)
    memory = {}
    for at, _, megabytes in samples:
        minute = min(minute_of(at), minutes)
        memory[minute] = max(memory.get(minute, 0), megabytes)
    written = {int(minute): count for minute, count in writer["per_minute"].items()}
    return [
        (
            str(minute + 1) if minute < minutes else "drain",
            written.get(minute, 0),
            accepted[minute],
            faults[minute],
            killed[minute],
            f"{memory[minute]:.0f}" if minute in memory else "-",
        )
        for minute in range(minutes + 1)
    ]


def format_table(headers, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines += [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
    ]
    return "\n".join(lines)


def format_report(*, command, minute_rows, checks, duplicates_line):
    return "\n".join(
        [
            f"soak: {command}",
            "",
            format_table(
                ["minute", "emails written", "accepted by sink", "faults", "SIGKILLs", "worker RSS max MB"],
                minute_rows,
            ),
            "",
            format_table(
                ["check", "result", "detail"],
                [(c.name, "ok" if c.passed else "FAILED", c.detail) for c in checks],
            ),
            "",
            duplicates_line,
        ]
    )
