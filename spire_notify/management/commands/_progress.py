"""A progress bar for a terminal, redrawn in place with a carriage return."""


class ProgressBar:
    width = 30

    def __init__(self, stdout, total):
        self.stdout = stdout
        self.total = total

    def update(self, done, counts):
        # More rows can become ready while draining; the bar then grows instead of overflowing.
        self.total = max(self.total, done)
        filled = self.width * done // self.total if self.total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        self.stdout.write(f"\r[{bar}] {done}/{self.total} {describe(counts)}", ending="")
        self.stdout.flush()

    def finish(self):
        self.stdout.write("")


def describe(counts):
    described = ", ".join(
        f"{name} {counts.get(name, 0)}" for name in ("sent", "errored", "failed", "skipped")
    )
    # Throttled rows (back in the queue, no attempt spent) are named only when there were some.
    return described + (f", throttled {counts['throttled']}" if counts.get("throttled") else "")
