"""An SMTP sink that misbehaves on purpose and keeps a ledger: ``python -m bench.faulty_sink``.

The soak (``python -m bench.soak``) delivers into it. For each message it draws, from a seeded
random stream, one of:

- ``transient``: a 451 reply, to ``RCPT`` or at the end of ``DATA`` (half each): retried;
- ``drop``: the connection is reset once the whole message was read, before the reply — the
  case a client cannot tell from a drop mid-``DATA``, and the one where it must not assume
  the message arrived;
- ``stall``: the reply to ``DATA`` comes 1–3 s late (shorter than the soak's lease and SMTP
  timeout, so the message is accepted, late);
- ``reject``: a 554 reply at the end of ``DATA``: the row fails for good, with that reason;
- ``hang``: the reply to ``DATA`` never comes in time: the sink sleeps ``HANG_SECONDS``, longer
  than the soak mailer's timeout, so the worker gives up on the message and retries it. What the
  sink does with it after the wait is drawn too (``hang_kept``, half), as a real relay may do either: it
  keeps it (``accepted … hung``: the retry then delivers a second copy, which the checks must
  explain) or discards it (a ``hang-discarded`` fault, and no acceptance);
- anything else is accepted.

The ledger is a file of tab-separated lines, written and flushed before each reply: ``accepted
<time> <Message-ID> <EHLO name>`` for every message answered 250 (with a fifth field, ``hung``,
for one kept after a hang, whose sender had given up on it), ``fault <time> <kind>
<Message-ID or -> <EHLO name>`` for every fault injected. ``<time>`` is wall-clock time
(``time.time()``), comparable with the soak's record of when it killed each worker; the EHLO
name says which worker process handed the message over (``bench.soak_mailer``).

``python -m bench.faulty_sink <ledger> <seed> <transient> <drop> <stall> <reject> <hang>
<hang_kept>`` (the shares, 0–1) prints its port on the first line of stdout and serves until stdin closes;
``FaultySinkProcess`` runs it so.
"""

import asyncio
import random
import sys
import time
from dataclasses import astuple, dataclass
from email.parser import BytesHeaderParser

from .smtp_sink import ServerProcess, serve_until_stdin_closes

STALL_SECONDS = (1.0, 3.0)
# Longer than the soak mailer's SMTP timeout (bench.soak_settings: 5 s), plus the relay's delay.
HANG_SECONDS = 8.0


@dataclass(frozen=True)
class FaultShares:
    """The share of messages (0–1) that meets each fault; the rest are accepted."""

    transient: float = 0.05
    drop: float = 0.03
    stall: float = 0.02
    reject: float = 0.005
    # Small: each hang holds a worker's connection for its whole SMTP timeout.
    hang: float = 0.005
    hang_kept: float = 0.5  # of the hung messages, those the sink keeps once the wait is over

    def draw(self, rng):
        roll = rng.random()
        for kind in ("transient", "drop", "stall", "reject", "hang"):
            share = getattr(self, kind)
            if roll < share:
                return kind
            roll -= share
        return "accept"


class Ledger:
    """The sink's record of what it accepted and what it did instead, line by line."""

    def __init__(self, path):
        self.file = open(path, "a", buffering=1)  # noqa: SIM115  (open for the server's life)

    def accepted(self, message_id, client, *, at=None, hung=False):
        """``at``: when the whole message had arrived (default now), which a stall delays the
        reply to, not the sender's part. ``hung``: kept after a hang, its sender gone."""
        self._write("accepted", message_id, client, *(["hung"] if hung else []), at=at)

    def fault(self, kind, message_id, client):
        self._write("fault", kind, message_id or "-", client)

    def _write(self, kind, *fields, at=None):
        self.file.write("\t".join([kind, f"{at or time.time():.6f}", *fields]) + "\n")

    def close(self):
        self.file.close()


class FaultInjectingHandler:
    """aiosmtpd hooks: a fault drawn per message at ``RCPT``, acted on there or after ``DATA``."""

    def __init__(self, ledger, shares, seed):
        self.ledger, self.shares = ledger, shares
        self.rng = random.Random(seed)
        self.hangs = set()  # the hangs still running, held so that they are not collected

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses[:-1] + ["250-PIPELINING"] + responses[-1:]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        kind = self.shares.draw(self.rng)
        # A transient fault lands on RCPT or on DATA: both replies reach the worker differently.
        if kind == "transient" and self.rng.random() < 0.5:
            self.ledger.fault("transient-rcpt", None, session.host_name)
            return "451 4.3.0 soak: try again later"
        envelope.soak_fault = kind
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message_id = message_id_of(envelope.original_content)
        kind = getattr(envelope, "soak_fault", "accept")
        client = session.host_name
        if kind == "transient":
            self.ledger.fault("transient-data", message_id, client)
            return "451 4.3.0 soak: try again later"
        if kind == "reject":
            self.ledger.fault("reject", message_id, client)
            return "554 5.6.0 soak: message rejected"
        if kind == "drop":
            self.ledger.fault("drop", message_id, client)
            server.transport.abort()
            return "421 4.3.0 never read: the connection is gone"
        arrived = time.time()
        if kind == "hang":
            self.ledger.fault("hang", message_id, client)
            # aiosmtpd cancels a session's handler when its client hangs up, as the worker does
            # when its timeout fires: the hang's end must outlive the session to be recorded.
            ending = asyncio.ensure_future(self.end_hang(message_id, client))
            self.hangs.add(ending)
            ending.add_done_callback(self.hangs.discard)
            return await asyncio.shield(ending)
        if kind == "stall":
            self.ledger.fault("stall", message_id, client)
            await asyncio.sleep(self.rng.uniform(*STALL_SECONDS))
        self.ledger.accepted(message_id, client, at=arrived)
        return "250 Message accepted"

    async def end_hang(self, message_id, client):
        await asyncio.sleep(HANG_SECONDS)
        if self.rng.random() >= self.shares.hang_kept:
            self.ledger.fault("hang-discarded", message_id, client)
            return "451 4.3.0 soak: discarded after a hang"
        # Kept only now, after the wait: the sender had given up on it long before.
        self.ledger.accepted(message_id, client, hung=True)
        return "250 Message accepted, late"


def message_id_of(content):
    return BytesHeaderParser().parsebytes(content).get("Message-ID", "").strip() or "-"


class FaultySinkProcess(ServerProcess):
    """The faulty sink in a process of its own, for the length of a ``with``."""

    module = "bench.faulty_sink"

    def __init__(self, ledger, seed, shares):
        super().__init__(ledger, seed, *astuple(shares))


def main():
    ledger_path, seed, *shares = sys.argv[1:]
    ledger = Ledger(ledger_path)
    handler = FaultInjectingHandler(ledger, FaultShares(*map(float, shares)), int(seed))
    try:
        serve_until_stdin_closes(handler)
    finally:
        ledger.close()


if __name__ == "__main__":
    main()
