"""Reading the faulty sink's ledger (``bench.faulty_sink``): what it accepted, when, from which
worker process, and which faults it injected."""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .soak_mailer import NAME_PREFIX

# The email channel's Message-ID of a notification row (a digest's reads "<digest.N@…>").
NOTIFICATION_ID = re.compile(r"<notification\.(\d+)@")


@dataclass(frozen=True)
class Acceptance:
    at: float  # time.time() in the sink
    worker_pid: int | None  # from the EHLO name, None for a client not named by the soak


@dataclass
class Ledger:
    # Message-ID → each time the sink answered 250 for it, in order.
    accepted: dict = field(default_factory=lambda: defaultdict(list))
    faults: Counter = field(default_factory=Counter)
    fault_times: list = field(default_factory=list)  # (time, kind)

    @classmethod
    def read(cls, path):
        ledger = cls()
        with open(path) as lines:
            for line in lines:
                record, at, *rest = line.rstrip("\n").split("\t")
                if record == "accepted":
                    message_id, client = rest
                    ledger.accepted[message_id].append(Acceptance(float(at), worker_pid(client)))
                else:
                    kind = rest[0]
                    ledger.faults[kind] += 1
                    ledger.fault_times.append((float(at), kind))
        return ledger

    def acceptances_by_row(self):
        """Row pk → its acceptances, and the Message-IDs that name no notification row."""
        by_row, strangers = {}, []
        for message_id, acceptances in self.accepted.items():
            if match := NOTIFICATION_ID.match(message_id):
                by_row[int(match.group(1))] = sorted(acceptances, key=lambda acceptance: acceptance.at)
            else:
                strangers.append(message_id)
        return by_row, strangers

    def accepted_times(self):
        return sorted(acceptance.at for acceptances in self.accepted.values() for acceptance in acceptances)


def worker_pid(client):
    return int(client[len(NAME_PREFIX) :]) if client.startswith(NAME_PREFIX) else None
