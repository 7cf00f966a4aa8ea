"""The soak with faults (``python -m bench.soak``): its sink injects each fault and keeps the
ledger the checks read, a duplicate no kill explains fails the soak, and one minute of it on
PostgreSQL passes every check (the PostgreSQL leg of ``make test`` only)."""

import os
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from bench.faulty_sink import FaultShares, FaultySinkProcess
from bench.soak_checks import find_duplicates
from bench.soak_ledger import Acceptance, Ledger
from bench.soak_workers import Kill
from spire_notify.compat import HAS_MAILERS

ROOT = Path(__file__).resolve().parents[2]
NO_FAULTS = FaultShares(transient=0, drop=0, stall=0, reject=0)
CHECKS = [
    "every email written is in the database",
    "every email row settled (sent or failed)",
    "no row left processing",
    "every failed row says why",
    "failed only for good (5xx) or after the last attempt",
    "none lost (every sent row reached the sink)",
    "every accepted email maps to a row",
    "duplicates only after a kill (at-least-once)",
    "no failed row was accepted, unless its worker was killed",
    "app rows all in the inbox (sent)",
    "faults injected",
    "drained within the drain timeout",
    "no worker exited on its own",
    "worker memory flat (max RSS, first vs last minute)",
]


def send_one(port, message_id="<notification.7@example.com>"):
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = "helpdesk@example.com", "user@example.com", "Hi"
    email["Message-ID"] = message_id
    email.set_content("Hello")
    with smtplib.SMTP("127.0.0.1", port, local_hostname="soak-worker-4242", timeout=10) as smtp:
        smtp.send_message(email)


def ledger_after(tmp_path, shares, send):
    path = tmp_path / "ledger.tsv"
    with FaultySinkProcess(path, 0, shares) as sink:
        send(sink.port)
    return Ledger.read(path)


def test_the_sink_records_each_accepted_message_with_the_worker_that_sent_it(tmp_path):
    ledger = ledger_after(tmp_path, NO_FAULTS, send_one)

    assert list(ledger.accepted) == ["<notification.7@example.com>"]
    (acceptance,) = ledger.accepted["<notification.7@example.com>"]
    assert acceptance.worker_pid == 4242
    assert ledger.acceptances_by_row()[0] == {7: [acceptance]}
    assert not ledger.faults


def test_a_dropped_connection_is_a_fault_and_no_acceptance(tmp_path):
    def send(port):
        with pytest.raises(smtplib.SMTPServerDisconnected):
            send_one(port)

    ledger = ledger_after(tmp_path, FaultShares(transient=0, drop=1, stall=0, reject=0), send)

    assert dict(ledger.faults) == {"drop": 1}
    assert not ledger.accepted


@pytest.mark.parametrize(
    ("shares", "code"),
    [
        (FaultShares(transient=1, drop=0, stall=0, reject=0), 451),
        (FaultShares(transient=0, drop=0, stall=0, reject=1), 554),
    ],
)
def test_refusals_reach_the_client_with_their_code(tmp_path, shares, code):
    def send(port):
        with pytest.raises((smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)) as refused:
            send_one(port)
        error = refused.value
        codes = [reply[0] for reply in getattr(error, "recipients", {}).values()] or [error.smtp_code]
        assert codes == [code]

    ledger = ledger_after(tmp_path, shares, send)

    assert ledger.faults.total() == 1
    assert not ledger.accepted


def test_a_stalled_message_is_accepted_late(tmp_path):
    ledger = ledger_after(tmp_path, FaultShares(transient=0, drop=0, stall=1, reject=0), send_one)

    assert dict(ledger.faults) == {"stall": 1}
    assert len(ledger.accepted["<notification.7@example.com>"]) == 1


def test_a_duplicate_is_explained_only_by_a_kill_of_the_first_sender_between_the_copies():
    copies = {1: [Acceptance(10.0, 100), Acceptance(30.0, 200)]}

    assert find_duplicates(copies, [Kill(100, 12.0)]).unexplained == []
    # Killed with the message already on its way: the sink accepted it just after.
    assert find_duplicates(copies, [Kill(100, 9.8)]).unexplained == []
    for kills in ([], [Kill(200, 12.0)], [Kill(100, 9.0)], [Kill(100, 31.0)]):
        assert find_duplicates(copies, kills).unexplained == [(1, [10.0, 30.0])], kills


@pytest.mark.postgres
@pytest.mark.timeout(300)
@pytest.mark.skipif(not HAS_MAILERS, reason="the soak sends through named MAILERS (Django 6.1)")
@pytest.mark.skipif(
    os.environ.get("SPIRE_TEST_DB") != "postgres", reason="the soak runs in the PostgreSQL leg"
)
def test_one_minute_of_soak_on_postgresql_passes_every_check():
    database = f"{os.environ.get('SPIRE_TEST_PG_NAME', 'test_spire_notify')}_soak"
    finished = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--minutes", "1"],
        cwd=ROOT,
        env={**os.environ, "BENCH_PG_NAME": database},
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )

    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output
    results = {line.split("  ")[0]: line for line in finished.stdout.splitlines() if "  ok  " in line}
    assert sorted(results) == sorted(CHECKS), output
    assert "Delivery is at least once:" in finished.stdout
    assert "drain" in finished.stdout
