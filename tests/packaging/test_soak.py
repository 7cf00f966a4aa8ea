"""The soak with faults (``python -m bench.soak``): its sink injects each fault and keeps the
ledger the checks read, a duplicate no kill explains fails the soak, and one minute of it on
PostgreSQL passes every check (the PostgreSQL leg of ``make test`` only)."""

import os
import smtplib
import subprocess
import sys
import time
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest

from bench.faulty_sink import HANG_SECONDS, FaultShares, FaultySinkProcess
from bench.soak_checks import check_escalations, find_duplicates
from bench.soak_ledger import Acceptance, Ledger
from bench.soak_workers import Kill
from spire_notify.compat import HAS_MAILERS

ROOT = Path(__file__).resolve().parents[2]
NO_FAULTS = FaultShares(transient=0, drop=0, stall=0, reject=0, hang=0)
CHECKS = [
    "every email written is in the database",
    "every email row settled (sent, failed or skipped)",
    "no row left processing",
    "every failed or skipped row says why",
    "failed only for good (5xx) or after the last attempt",
    "every digest settled (sent, failed or skipped, with a reason)",
    "each escalation sent after its delay, or skipped as read",
    "every shape written and settled",
    "none lost (every sent row and digest reached the sink)",
    "every accepted email maps to a row or digest",
    "duplicates only after a kill or a hang (at-least-once)",
    "each extra copy has a fault of its own (a kill or a hang)",
    "no failed row was accepted, unless killed or hung",
    "app rows all in the inbox (sent)",
    "faults injected",
    "drained within the drain timeout",
    "no worker exited on its own",
    "worker memory flat (max RSS, first vs last minute)",
]


def send_one(port, message_id="<notification.7@example.com>", timeout=10):
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = "helpdesk@example.com", "user@example.com", "Hi"
    email["Message-ID"] = message_id
    email.set_content("Hello")
    with smtplib.SMTP("127.0.0.1", port, local_hostname="soak-worker-4242", timeout=timeout) as smtp:
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

    ledger = ledger_after(tmp_path, FaultShares(transient=0, drop=1, stall=0, reject=0, hang=0), send)

    assert dict(ledger.faults) == {"drop": 1}
    assert not ledger.accepted


@pytest.mark.parametrize(
    ("shares", "code"),
    [
        (FaultShares(transient=1, drop=0, stall=0, reject=0, hang=0), 451),
        (FaultShares(transient=0, drop=0, stall=0, reject=1, hang=0), 554),
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
    ledger = ledger_after(tmp_path, FaultShares(transient=0, drop=0, stall=1, reject=0, hang=0), send_one)

    assert dict(ledger.faults) == {"stall": 1}
    assert len(ledger.accepted["<notification.7@example.com>"]) == 1


def test_a_duplicate_is_explained_only_by_a_kill_of_the_first_sender_between_the_copies():
    copies = {1: [Acceptance(10.0, 100), Acceptance(30.0, 200)]}

    assert find_duplicates(copies, [Kill(100, 12.0)]).unexplained == []
    # Killed with the message already on its way: the sink accepted it just after.
    assert find_duplicates(copies, [Kill(100, 9.8)]).unexplained == []
    for kills in ([], [Kill(200, 12.0)], [Kill(100, 9.0)], [Kill(100, 31.0)]):
        assert find_duplicates(copies, kills).unexplained == [(1, [10.0, 30.0])], kills


def send_and_let_the_hang_end(port):
    with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)):
        send_one(port, timeout=1)
    time.sleep(HANG_SECONDS + 0.5)  # the sink decides what to do with it only then


def test_a_hung_message_the_sink_keeps_is_accepted_after_the_clients_timeout_and_marked_hung(tmp_path):
    ledger = ledger_after(tmp_path, replace(NO_FAULTS, hang=1, hang_kept=1), send_and_let_the_hang_end)

    assert dict(ledger.faults) == {"hang": 1}
    (acceptance,) = ledger.accepted["<notification.7@example.com>"]
    assert acceptance.hung
    assert acceptance.at - ledger.fault_times[0][0] >= HANG_SECONDS - 0.1


def test_a_hung_message_the_sink_discards_is_never_called_accepted(tmp_path):
    ledger = ledger_after(tmp_path, replace(NO_FAULTS, hang=1, hang_kept=0), send_and_let_the_hang_end)

    assert dict(ledger.faults) == {"hang": 1, "hang-discarded": 1}
    assert not ledger.accepted


def test_a_copy_kept_after_a_hang_explains_the_retry_before_or_after_it():
    retry_first = {1: [Acceptance(16.0, 100), Acceptance(18.0, 100, hung=True)]}
    hung_first = {1: [Acceptance(18.0, 100, hung=True), Acceptance(25.0, 200)]}
    not_hung = {1: [Acceptance(18.0, 100), Acceptance(25.0, 200)]}

    for copies in (retry_first, hung_first):
        duplicates = find_duplicates(copies, [])
        assert (duplicates.unexplained, duplicates.after_hang) == ([], 1)
    assert find_duplicates(not_hung, []).unexplained == [(1, [18.0, 25.0])]


def test_a_third_copy_needs_a_second_fault_not_the_first_one_again():
    thrice = {1: [Acceptance(10.0, 100), Acceptance(30.0, 200), Acceptance(50.0, 300)]}
    # The worker that sent the first copy was killed, and so was the one that retried it: two
    # faults, two extra copies (the 30-minute soak saw this: kills 15 s apart, a 15 s lease).
    two_kills = find_duplicates(thrice, [Kill(100, 12.0), Kill(200, 32.0)])
    assert (two_kills.unexplained, two_kills.too_many, two_kills.thrice) == ([], [], 1)
    # One kill cannot explain two copies: the third one is a real duplicate.
    same_worker = {1: [Acceptance(10.0, 100), Acceptance(30.0, 100), Acceptance(50.0, 300)]}
    one_kill = find_duplicates(same_worker, [Kill(100, 31.0)])
    assert one_kill.too_many == [(1, [10.0, 30.0, 50.0])]


def test_a_digest_the_sink_accepts_maps_to_its_digest_not_to_a_stranger(tmp_path):
    ledger = ledger_after(tmp_path, NO_FAULTS, lambda port: send_one(port, "<digest.3@example.com>"))

    (acceptance,) = ledger.acceptances_by_digest()[3]
    assert acceptance.worker_pid == 4242
    assert ledger.acceptances_by_row() == ({}, [])


def test_an_escalation_passes_if_sent_after_its_delay_or_skipped_once_read():
    # (pk, status, digest pk, due, app row read)
    on_time = [
        (1, "sent", None, 100.0, False),
        (2, "sent", 9, 100.0, False),
        (3, "skipped", None, 100.0, True),
    ]
    by_row, by_digest = {1: [Acceptance(100.2, 10)]}, {9: [Acceptance(120.0, 10)]}

    assert check_escalations(on_time, by_row, by_digest) == ([], [])
    early = [(1, "sent", None, 101.0, False)]
    assert check_escalations(early, by_row, by_digest) == ([1], [])
    skipped_unread = [(3, "skipped", None, 100.0, False)]
    assert check_escalations(skipped_unread, by_row, by_digest) == ([], [3])


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
