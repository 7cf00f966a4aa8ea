"""The ``rate_limit`` option of a backend: "14/s", "600/m", "50000/h", as providers state theirs.

Its own module, pure, so that the system checks, the backend base and the worker's pacer read
one parser.
"""

import re
from dataclasses import dataclass

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
PATTERN = re.compile(r"\s*(\d+)\s*/\s*([smh])\s*")


@dataclass(frozen=True)
class Rate:
    """At most ``count`` hand-offs every ``per_seconds`` seconds."""

    count: int
    per_seconds: int

    @property
    def interval(self):
        """Seconds between two hand-offs when they are spread evenly."""
        return self.per_seconds / self.count

    def __str__(self):
        unit = {seconds: unit for unit, seconds in UNIT_SECONDS.items()}[self.per_seconds]
        return f"{self.count}/{unit}"


def parse_rate(value):
    """The ``Rate`` that ``value`` states; ``ValueError`` with one sentence saying what is wrong."""
    match = PATTERN.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match.group(1)) == 0:
        raise ValueError(
            f"'rate_limit' must be a count above 0 per second, minute or hour, such as \"14/s\", "
            f'"600/m" or "50000/h", not {value!r}.'
        )
    return Rate(int(match.group(1)), UNIT_SECONDS[match.group(2)])
