"""SVG charts of a bench run, for docs/performance.md: the tables keep the exact figures.

- ``delivery.svg``: one worker's emails per second against raw smtplib and post-office (P3);
- ``backlog.svg``: drain time and peak RSS against the backlog's size (P5);
- ``fanout.svg``: notifying an audience against its size, beside the bare INSERT … SELECT (P7);
- ``relay.svg``: emails per second through the relay 25 ms away, each way of sending (P8);
- ``streams.svg``: when the live streams had the notification, after its commit (P9).

A chart is drawn from the rows' raw ``values``; one whose benchmark did not run is left out.
"""

from pathlib import Path

COLOURS = {"sqlite": "#4c72b0", "postgres": "#dd8452"}


def write_charts(results, directory):
    """Write every chart the results allow into ``directory``; returns the paths written."""
    import matplotlib

    matplotlib.use("svg")
    from matplotlib import pyplot

    pyplot.rcParams.update({"svg.fonttype": "none", "font.size": 9, "svg.hashsalt": "spire-bench"})
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in (
        ("delivery", _delivery),
        ("backlog", _backlog),
        ("fanout", _fanout),
        ("relay", _relay),
        ("streams", _streams),
    ):
        rows = {engine: result.get("rows", []) for engine, result in results.items()}
        figure = draw(pyplot, rows)
        if figure is None:
            continue
        path = directory / f"{name}.svg"
        figure.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
        pyplot.close(figure)
        written.append(path)
    return written


def _rows(rows, benchmark, words):
    return [row for row in rows if row["id"] == benchmark and words in row["what"] and row["values"]]


def _delivery(pyplot, rows_by_engine):
    bars = {}
    for engine, rows in rows_by_engine.items():
        sending = _rows(rows, "P3", " emails delivered by one worker")
        whole = _rows(rows, "P3", " emails end to end")
        if not (sending and whole):
            continue
        count = int(sending[0]["what"].split()[0].replace(",", ""))
        bars[engine] = {
            "spire-notify\n(sending)": count / sending[0]["values"]["ours"],
            "raw smtplib": count / sending[0]["values"]["baseline"],
            "spire-notify\n(end to end)": count / whole[0]["values"]["ours"],
            "post-office\n(end to end)": count / whole[0]["values"]["baseline"],
        }
    if not bars:
        return None
    _, axes = pyplot.subplots(figsize=(7, 3))
    return _grouped_bars(axes, bars, ylabel="emails per second", title="One worker delivering email (P3)")


def _grouped_bars(axes, bars, *, ylabel, title):
    """Draw ``{engine: {label: value}}`` as bars grouped by label, an engine a colour."""
    labels = list(dict.fromkeys(label for values in bars.values() for label in values))
    width = 0.8 / len(bars)
    for index, (engine, values) in enumerate(bars.items()):
        positions = [label + index * width for label in range(len(labels))]
        axes.bar(
            positions,
            [values.get(label, 0) for label in labels],
            width,
            label=engine,
            color=COLOURS.get(engine),
        )
    axes.set_xticks([label + width * (len(bars) - 1) / 2 for label in range(len(labels))], labels)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend(frameon=False)
    return axes.figure


def _sized(rows, benchmark, starts, words):
    """``{size: values}`` of the rows whose measure names a size right after ``starts``."""
    sized = {}
    for row in _rows(rows, benchmark, words):
        size = row["what"].removeprefix(starts).split()[0].split("-")[0].replace(",", "")
        if row["what"].startswith(starts) and size.isdigit():
            sized[int(size)] = row["values"]
    return dict(sorted(sized.items()))


def _backlog(pyplot, rows_by_engine):
    series = {engine: _sized(rows, "P5", "drain ", " pending") for engine, rows in rows_by_engine.items()}
    series = {engine: values for engine, values in series.items() if values}
    if not series:
        return None
    figure, (time_axes, memory_axes) = pyplot.subplots(1, 2, figsize=(8, 3))
    for engine, values in series.items():
        sizes = list(values)
        colour = COLOURS.get(engine)
        time_axes.plot(sizes, [values[size]["seconds"] for size in sizes], "o-", label=engine, color=colour)
        memory_axes.plot(
            sizes, [values[size]["peak_rss_mb"] for size in sizes], "o-", label=engine, color=colour
        )
    for axes in (time_axes, memory_axes):
        axes.set_xscale("log")
        axes.set_xlabel("pending notifications")
        axes.legend(frameon=False)
    time_axes.set_yscale("log")
    time_axes.set_ylabel("seconds to drain")
    memory_axes.set_ylabel("peak RSS (MB)")
    memory_axes.set_ylim(bottom=0)
    figure.suptitle("Draining a backlog with one worker (P5)")
    return figure


def _fanout(pyplot, rows_by_engine):
    series = {engine: _sized(rows, "P7", "notify a ", " vs bare") for engine, rows in rows_by_engine.items()}
    series = {engine: values for engine, values in series.items() if values}
    if not series:
        return None
    figure, axes = pyplot.subplots(figsize=(6, 3))
    for engine, values in series.items():
        sizes = list(values)
        colour = COLOURS.get(engine)
        axes.plot(
            sizes, [values[size]["ours"] for size in sizes], "o-", color=colour, label=f"{engine}: notify()"
        )
        axes.plot(
            sizes,
            [values[size]["bare"] for size in sizes],
            "x--",
            color=colour,
            label=f"{engine}: bare INSERT … SELECT",
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("users in the audience (app + email each)")
    axes.set_ylabel("seconds")
    axes.set_title("Notifying an audience (P7)")
    axes.legend(frameon=False)
    return figure


def _relay(pyplot, rows_by_engine):
    bars = {}
    for engine, rows in rows_by_engine.items():
        versus_raw = _rows(rows, "P8", "one worker (default settings) vs raw smtplib")
        if not versus_raw:
            continue
        count = int(versus_raw[0]["what"].split()[0].replace(",", ""))
        raw = versus_raw[0]["values"]
        # post-office's row (and so the tuned worker's) has no values when it was not measured.
        [tuned] = _rows(rows, "P8", "one worker tuned for the relay") or [{"values": {}}]
        [four] = _rows(rows, "P8", "workers vs one worker") or [{"values": {}}]
        seconds = {
            "raw smtplib\n(one connection)": raw["baseline"],
            "post-office\n(one process)": tuned["values"].get("baseline"),
            "one worker\n(default)": raw["ours"],
            "one worker\n(tuned)": tuned["values"].get("ours"),
            "four workers\n(default)": four["values"].get("ours"),
        }
        bars[engine] = {label: count / taken for label, taken in seconds.items() if taken}
    if not bars:
        return None
    _, axes = pyplot.subplots(figsize=(8, 3))
    return _grouped_bars(
        axes, bars, ylabel="emails per second", title="Sending through a relay 25 ms away (P8)"
    )


def _streams(pyplot, rows_by_engine):
    bars, streams = {}, 0
    for engine, rows in rows_by_engine.items():
        latency = _rows(rows, "P9", " live streams, one notify()")
        if not latency:
            continue
        streams = latency[0]["values"]["streams"]
        rounds = latency[0]["values"]["rounds"]
        middle = sorted(rounds, key=lambda timing: timing["last"])[len(rounds) // 2]
        bars[engine] = {
            "the writer\npublished": middle["published"] * 1000,
            "first stream": middle["first"] * 1000,
            "median stream": middle["median"] * 1000,
            "last stream": middle["last"] * 1000,
        }
    if not bars:
        return None
    _, axes = pyplot.subplots(figsize=(7, 3))
    axes.axhline(1000, color="grey", linestyle="--", linewidth=1, label="target: 1 s")
    return _grouped_bars(
        axes,
        bars,
        ylabel="ms after the commit",
        title=f"{streams:,} live streams, one notification (P9, the median round)",
    )
