"""Reading the faulty sink's ledger (``bench.faulty_sink``): what it accepted, when, from which
worker process, and which faults it injected."""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .soak_mailer import NAME_PREFIX

# The email channel's Message-IDs: of a notification row, and of a digest.
NOTIFICATION_ID = re.compile(r"<notification\.(\d+)@")
DIGEST_ID = re.compile(r"<digest\.(\d+)@")


@dataclass(frozen=True)
class Acceptance:
    at: float  # time.time() in the sink
    worker_pid: int | None  # from the EHLO name, None for a client not named by the soak
    hung: bool = False  # kept by the sink after a hang, when its sender had given up on it


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
                    message_id, client, *marks = rest
                    acceptance = Acceptance(float(at), worker_pid(client), hung="hung" in marks)
                    ledger.accepted[message_id].append(acceptance)
                else:
                    kind = rest[0]
                    ledger.faults[kind] += 1
                    ledger.fault_times.append((float(at), kind))
        return ledger

    def acceptances_by_row(self):
        """Row pk → its acceptances, and the Message-IDs that name no notification row (nor a
        digest)."""
        by_row = self._acceptances_by(NOTIFICATION_ID)
        strangers = [
            message_id
            for message_id in self.accepted
            if not NOTIFICATION_ID.match(message_id) and not DIGEST_ID.match(message_id)
        ]
        return by_row, strangers

    def acceptances_by_digest(self):
        """Digest pk → its acceptances."""
        return self._acceptances_by(DIGEST_ID)

    def _acceptances_by(self, pattern):
        return {
            int(match.group(1)): sorted(acceptances, key=lambda acceptance: acceptance.at)
            for message_id, acceptances in self.accepted.items()
            if (match := pattern.match(message_id))
        }

    def accepted_times(self):
        return sorted(acceptance.at for acceptances in self.accepted.values() for acceptance in acceptances)


def worker_pid(client):
    return int(client[len(NAME_PREFIX) :]) if client.startswith(NAME_PREFIX) else None
